"""Bad input through the real CLI (`python -m smslab`, a process of its own), one case a row.

Each case asserts the exit code; exactly one line on stderr, starting `smslab:`, that names the
file or flag and says what to do; no traceback; nothing on stdout; and that nothing on disk
changed but what the case allows (most allow nothing: no half-written output, no database
created by mistake, no `mkdir -p` of a mistyped folder; file contents compared by hash).

The read-only database cases run the CLI without any Linux capability (`drop_privileges`), so they
mean the same as root (CI) as for an ordinary user: the operating system itself refuses the write,
and a probe checks that it does before the case runs.
"""

from __future__ import annotations

import ctypes
import gzip
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smslab import config, store

SAMPLES = config.data_dir() / "samples"
SPEC = (SAMPLES / "campaign.yaml").read_text(encoding="utf-8")


@dataclass
class Case:
    id: str
    args: list[str]
    code: int
    names: str  # the file or flag the line must name
    fix: str  # words of the fix the line must give
    setup: Callable[[Path], None] = lambda root: None
    env: dict[str, str] = field(default_factory=dict)
    may_change: tuple[str, ...] = ()  # paths (relative to the workspace) the command may write
    unprivileged: bool = False  # run without root's power to ignore file modes (see `drop_privileges`)


def spec(root: Path, name: str, old: str, new: str) -> None:
    assert old in SPEC, old
    (root / name).write_text(SPEC.replace(old, new, 1), encoding="utf-8")


def write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return setup


def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for step in steps:
            step(root)

    return setup


def spec_with(name: str, old: str, new: str) -> Callable[[Path], None]:
    return lambda root: spec(root, name, old, new)


def read_only_db(root: Path) -> None:
    store.connect(root / "ro.duckdb").close()
    os.chmod(root / "ro.duckdb", stat.S_IRUSR | stat.S_IRGRP)


def drop_privileges() -> None:
    """In the child, before exec: drop every Linux capability, so that even a process running as root
    obeys file modes as an ordinary user does (root ignores them through CAP_DAC_OVERRIDE; CI may run as
    root). The bounding set goes first, so that exec cannot give root its capabilities back.

    Not `setuid(nobody)`: the interpreter may live where only root can read (~root/.pyenv).
    """
    if os.geteuid() != 0:
        return  # an ordinary user already obeys file modes
    libc = ctypes.CDLL(None, use_errno=True)
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last + 1):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (EINVAL for a capability already out: fine)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    none = (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words, all zero
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), none) != 0:
        raise OSError(ctypes.get_errno(), "capset: cannot drop capabilities")


def real_db(root: Path) -> None:
    store.connect(root / "real.duckdb").close()


AT = ["--at", "2026-11-24T12:00:00+01:00"]
GOOD_CSV_HEADER = "provider_message_id,status,event_at,error_code\n"

CASES = [
    # --- campaign specs ------------------------------------------------------------------------
    Case("spec-missing", ["check", "nope.yaml", *AT], 2, "nope.yaml", "no such spec file"),
    Case(
        "spec-purpose",
        ["check", "s.yaml", *AT],
        2,
        "s.yaml: purpose",
        "marketing",
        spec_with("s.yaml", "purpose: marketing", "purpose: advertising"),
    ),
    Case(
        "spec-sender-type",
        ["check", "s.yaml", *AT],
        2,
        "senders.FR.type",
        "short_code",
        spec_with("s.yaml", "FR: {type: short_code", "FR: {type: satellite"),
    ),
    Case(
        "spec-sender-key-not-a-country",
        ["check", "s.yaml", *AT],
        2,
        "sender key 'XX'",
        "two-letter ISO code",
        spec_with(
            "s.yaml",
            '  FR: {type: short_code, id: "36180"}',
            '  FR: {type: short_code, id: "36180"}\n  XX: {type: short_code, id: "12345"}',
        ),
    ),
    Case(
        "spec-unknown-field",
        ["check", "s.yaml", *AT],
        2,
        "audiance",
        "data/samples/campaign.yaml",
        spec_with("s.yaml", "audience: audience.csv", "audience: audience.csv\naudiance: x.csv"),
    ),
    Case(
        "spec-not-yaml", ["check", "s.yaml", *AT], 2, "s.yaml", "line", write("s.yaml", "name: [unclosed\npurpose: x\n")
    ),
    Case("spec-a-list", ["check", "s.yaml", *AT], 2, "s.yaml", "expected a mapping", write("s.yaml", "- a\n- b\n")),
    Case("spec-empty-file", ["check", "s.yaml", *AT], 2, "s.yaml", "", write("s.yaml", "")),
    Case(
        "spec-default-region",
        ["check", "s.yaml", *AT],
        2,
        "default_region",
        "two-letter",
        spec_with("s.yaml", "default_region: FR", "default_region: France"),
    ),
    Case(
        "spec-send-at-past",
        ["send", "s.yaml", "--db", "s.duckdb"],
        2,
        "s.yaml",
        "send_at",
        spec_with("s.yaml", "# send_at: 2027-01-12T15:00:00+01:00", "send_at: 2020-01-12T15:00:00+01:00"),
    ),
    Case(
        "spec-send-at-no-offset",
        ["check", "s.yaml"],
        2,
        "send_at",
        "offset",
        spec_with("s.yaml", "# send_at: 2027-01-12T15:00:00+01:00", "send_at: 2027-01-12T15:00:00"),
    ),
    Case("check-at-not-a-date", ["check", "campaign.yaml", "--at", "tomorrow"], 2, "--at", "ISO 8601"),
    # --- audiences -----------------------------------------------------------------------------
    Case(
        "audience-missing",
        ["check", "s.yaml", *AT],
        2,
        "nobody.csv",
        "",
        spec_with("s.yaml", "audience: audience.csv", "audience: nobody.csv"),
    ),
    Case(
        "audience-header-only",
        ["check", "s.yaml", *AT],
        2,
        "empty.csv",
        "add one phone number",
        both(
            spec_with("s.yaml", "audience: audience.csv", "audience: empty.csv"),
            write("empty.csv", "msisdn,consent_at,consent_source\n"),
        ),
    ),
    Case(
        "audience-no-msisdn-column",
        ["check", "s.yaml", *AT],
        2,
        "phones.csv",
        "msisdn",
        both(
            spec_with("s.yaml", "audience: audience.csv", "audience: phones.csv"),
            write("phones.csv", "phone,consent_at\n+33612345678,2026-01-01\n"),
        ),
    ),
    Case(
        "audience-latin1",
        ["check", "s.yaml", *AT],
        2,
        "latin.csv",
        "UTF-8",
        both(
            spec_with("s.yaml", "audience: audience.csv", "audience: latin.csv"),
            write("latin.csv", "msisdn,first_name\n+33612345678,Léa\n".encode("latin-1")),
        ),
    ),
    Case(
        "audience-zero-bytes",
        ["check", "s.yaml", *AT],
        2,
        "zero.csv",
        "",
        both(spec_with("s.yaml", "audience: audience.csv", "audience: zero.csv"), write("zero.csv", "")),
    ),
    Case(
        "audience-xlsx",
        ["check", "s.yaml", *AT],
        2,
        "people.xlsx",
        "save it as CSV",
        both(
            spec_with("s.yaml", "audience: audience.csv", "audience: people.xlsx"), write("people.xlsx", b"PK\x03\x04")
        ),
    ),
    # --- rules ---------------------------------------------------------------------------------
    Case("rules-unknown-country", ["rules", "ZZ"], 2, "ZZ", ""),
    Case("rules-at-not-a-day", ["rules", "FR", "--at", "2026-13-01"], 2, "--at", "2026-12-06"),
    Case("rules-dir-missing", ["rules", "FR", "--dir", "no-rules"], 2, "no-rules", ""),
    Case(
        "rules-override-missing",
        ["check", "s.yaml", *AT],
        2,
        "review.yaml",
        "",
        spec_with("s.yaml", "rules: rules-review.yaml", "rules: review.yaml"),
    ),
    Case(
        "rules-override-broken",
        ["check", "s.yaml", *AT],
        2,
        "bad-review.yaml",
        "",
        both(
            spec_with("s.yaml", "rules: rules-review.yaml", "rules: bad-review.yaml"),
            write("bad-review.yaml", "FR: [unclosed\n"),
        ),
    ),
    # --- prices and costs ----------------------------------------------------------------------
    Case(
        "cost-months-nan",
        ["cost", "--country", "FR", "--monthly-volume", "1000", "--months", "nan"],
        2,
        "--months",
        "finite number",
    ),
    Case(
        "cost-months-inf",
        ["cost", "--country", "FR", "--monthly-volume", "1000", "--months", "inf"],
        2,
        "--months",
        "finite number",
    ),
    Case(
        "cost-months-zero",
        ["cost", "--country", "FR", "--monthly-volume", "1000", "--months", "0"],
        2,
        "--months",
        "x>0",
    ),
    Case(
        "cost-volume-negative",
        ["cost", "--country", "FR", "--monthly-volume", "-5", "--months", "1"],
        2,
        "--monthly-volume",
        "x>=0",
    ),
    Case(
        "cost-reply-rate-nan",
        ["cost", "--country", "FR", "--monthly-volume", "5", "--months", "1", "--reply-rate", "nan"],
        2,
        "--reply-rate",
        "finite number",
    ),
    Case(
        "cost-country-name",
        ["cost", "--country", "France", "--monthly-volume", "5", "--months", "1"],
        2,
        "France",
        "two-letter",
    ),
    Case(
        "cost-currency-without-rate",
        ["cost", "--country", "US", "--monthly-volume", "5", "--months", "1", "--currency", "EUR"],
        2,
        "--currency EUR",
        "USD/EUR",
    ),
    Case(
        "cost-currency-not-a-code",
        ["cost", "--country", "US", "--monthly-volume", "5", "--months", "1", "--currency", "euros"],
        2,
        "--currency",
        "three-letter",
    ),
    Case(
        "cost-prices-missing",
        ["cost", "--country", "US", "--monthly-volume", "5", "--months", "1", "--prices", "mine.csv"],
        2,
        "mine.csv",
        "",
    ),
    Case(
        "cost-prices-bad-cell",
        ["cost", "--country", "US", "--monthly-volume", "5", "--months", "1", "--prices", "mine.csv"],
        2,
        "mine.csv",
        "",
        write(
            "mine.csv",
            (config.data_dir() / "pricing" / "indicative.csv").read_text(encoding="utf-8").splitlines()[0]
            + "\nUS,long_code,USD,abc,,,,,,,,,,,,\n",
        ),
    ),
    Case(
        "cost-rates-bad",
        ["cost", "--country", "US", "--monthly-volume", "5", "--months", "1", "--rates", "rates.csv"],
        2,
        "rates.csv",
        "",
        write("rates.csv", "from_currency,to_currency,rate,source,checked\nUSD,EUR,-1,x,2026-01-01\n"),
    ),
    # --- files to ingest -----------------------------------------------------------------------
    Case("ingest-missing", ["ingest", "nope.jsonl", "--db", "i.duckdb"], 2, "nope.jsonl", "no such file"),
    Case(
        "ingest-folder",
        ["ingest", "reports", "--db", "i.duckdb"],
        2,
        "reports",
        "smslab load",
        write("reports/x.jsonl", "{}\n"),
    ),
    Case(
        "ingest-unknown-format",
        ["ingest", "notes.txt", "--db", "i.duckdb"],
        2,
        "notes.txt",
        "--format",
        write("notes.txt", "hello\nworld\n"),
    ),
    Case(
        "ingest-format-flag",
        ["ingest", "r.csv", "--format", "excel", "--db", "i.duckdb"],
        2,
        "--format",
        "infobip",
        write("r.csv", GOOD_CSV_HEADER),
    ),
    Case(
        "ingest-corrupt-gz",
        ["ingest", "r.csv.gz", "--db", "i.duckdb"],
        2,
        "r.csv.gz",
        "gunzip",
        write("r.csv.gz", gzip.compress(b"provider_message_id,status,event_at\n")[:12]),
    ),
    Case(
        "ingest-csv-missing-column",
        ["ingest", "r.csv", "--format", "csv", "--db", "i.duckdb"],
        2,
        "r.csv",
        "provider_message_id,status,event_at",
        write("r.csv", "id,state\n1,delivered\n"),
    ),
    Case(
        "ingest-everything-quarantined",
        ["ingest", "r.jsonl", "--format", "infobip", "--db", "i.duckdb"],
        1,
        "r.jsonl",
        "--format",
        write("r.jsonl", '{"a": 1}\n{"b": 2}\n'),
        may_change=("i.duckdb", "i.duckdb.wal"),
    ),
    # --- flags ---------------------------------------------------------------------------------
    Case("serve-port-too-high", ["serve", "--port", "99999"], 2, "--port", "1<=x<=65535"),
    Case("serve-port-zero", ["serve", "--port", "0"], 2, "--port", "1<=x<=65535"),
    Case("segments-no-text", ["segments"], 2, "TEXT", "--help"),
    Case("unknown-command", ["sned", "campaign.yaml"], 2, "sned", "--help"),
    Case(
        "send-throughput-zero",
        ["send", "campaign.yaml", "--throughput", "0", "--db", "s.duckdb"],
        2,
        "--throughput",
        "> 0",
    ),
    Case(
        "send-batch-size-zero",
        ["send", "campaign.yaml", "--batch-size", "0", "--db", "s.duckdb"],
        2,
        "--batch-size",
        "x>=1",
    ),
    Case(
        "numbers-region-name",
        ["numbers", "audience.csv", "--column", "msisdn", "--region", "France"],
        2,
        "--region",
        "two-letter",
    ),
    Case(
        "numbers-out-is-input",
        ["numbers", "audience.csv", "--column", "msisdn", "--out", "audience.csv"],
        2,
        "--out audience.csv",
        "another file",
    ),
    Case(
        "numbers-out-xlsx",
        ["numbers", "audience.csv", "--column", "msisdn", "--out", "clean.xlsx"],
        2,
        "clean.xlsx",
        ".csv or .parquet",
    ),
    Case("numbers-column-missing", ["numbers", "audience.csv", "--column", "phone"], 2, "audience.csv", "msisdn"),
    Case(
        "numbers-out-folder-missing",
        ["numbers", "audience.csv", "--column", "msisdn", "--out", "out/clean.csv"],
        2,
        "out/clean.csv",
        "create it",
    ),
    Case("report-unknown", ["report", "run", "delivery_funel"], 2, "delivery_funel", "delivery_funnel"),
    Case(
        "report-unknown-parameter",
        ["report", "run", "delivery_funnel", "-p", "campain_id", "x"],
        2,
        "campain_id",
        "campaign_id",
    ),
    Case("load-wait-negative", ["load", "--wait", "-1"], 2, "--wait", "0<=x<=86400"),
    # --- database paths ------------------------------------------------------------------------
    Case(
        "db-not-duckdb",
        ["check", "campaign.yaml", *AT, "--db", "notes.duckdb"],
        2,
        "notes.duckdb",
        "point --db",
        write("notes.duckdb", "my notes\n"),
    ),
    Case("db-folder-missing", ["check", "campaign.yaml", *AT, "--db", "typo/smslab.duckdb"], 2, "typo", "mkdir -p"),
    Case("db-env-folder-missing", ["load"], 2, "typo", "mkdir -p", env={"SMSLAB_DB": "typo/smslab.duckdb"}),
    Case("db-read-only", ["load", "--db", "ro.duckdb"], 2, "ro.duckdb", "chmod u+w", read_only_db, unprivileged=True),
    Case(
        "db-read-only-ingest",
        ["ingest", "r.csv", "--db", "ro.duckdb"],
        2,
        "ro.duckdb",
        "chmod u+w",
        both(read_only_db, write("r.csv", GOOD_CSV_HEADER + "g-1,delivered,2026-12-01T14:00:09Z,\n")),
        unprivileged=True,
    ),
    Case(
        "db-is-a-folder",
        ["ingest", "r.csv", "--db", "dbdir"],
        2,
        "dbdir",
        "is a directory",
        both(write("dbdir/keep", ""), write("r.csv", GOOD_CSV_HEADER)),
    ),
    Case("db-empty-file", ["load", "--db", "zero.duckdb"], 2, "zero.duckdb", "point --db", write("zero.duckdb", "")),
    Case(
        "load-landing-missing",
        ["load", "--db", "real.duckdb", "--landing", "landingz"],
        2,
        "--landing landingz",
        "journal folder",
        real_db,
    ),
]


def _tree(root: Path) -> dict[str, tuple[int, int, int, str]]:
    return {
        str(p.relative_to(root)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            p.stat().st_mode,
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "",
        )
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    for name in ("campaign.yaml", "audience.csv", "rules-review.yaml"):
        shutil.copy(SAMPLES / name, root / name)
    case.setup(root)
    before = _tree(root)
    env = {
        **os.environ,
        "SMSLAB_DB": str(tmp_path / "default.duckdb"),
        "SMSLAB_LANDING": str(tmp_path / "landing"),
        "SMSLAB_REPORTS": str(tmp_path / "reports"),
        **case.env,
    }
    preexec = drop_privileges if case.unprivileged else None
    if case.unprivileged:
        # the operating system itself must refuse the write, else the case proves nothing
        probe = subprocess.run(
            [sys.executable, "-c", "open('ro.duckdb', 'r+b')"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=preexec,
        )
        assert "PermissionError" in probe.stderr, (os.geteuid(), probe.returncode, probe.stderr)
    done = subprocess.run(
        [sys.executable, "-m", "smslab", *case.args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
    )
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    [line] = lines
    assert line.startswith("smslab: "), line
    assert case.names in line, (case.names, line)
    assert case.fix in line, (case.fix, line)
    assert done.returncode == case.code, (done.returncode, line)
    if case.code == 2:
        assert done.stdout == "", done.stdout
    after = _tree(root)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} - set(case.may_change)
    assert not changed, f"changed on disk: {sorted(changed)}"
    assert not (tmp_path / "default.duckdb").exists() or case.id in ("load-wait-negative",)
    assert not (root / "typo").exists()


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)
