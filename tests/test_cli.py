import json
import subprocess
import sys
from datetime import datetime

import pytest
from click.testing import CliRunner

from smslab import __version__
from smslab.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_help_lists_every_design_command():
    result = run("--help")
    assert result.exit_code == 0
    # the names in the "Commands:" table, not words found anywhere in the help prose
    table = result.output.split("Commands:", 1)[1]
    listed = {line.split()[0] for line in table.splitlines() if line.startswith("  ") and line.strip()}
    assert listed == {
        "demo",
        "numbers",
        "rules",
        "segments",
        "cost",
        "check",
        "send",
        "ingest",
        "serve",
        "load",
        "pull",
        "report",
        "smpp-receive",
        "conversions",
    }
    report = run("report", "--help").output.split("Commands:", 1)[1]
    subcommands = {line.split()[0] for line in report.splitlines() if line.startswith("  ") and line.strip()}
    assert subcommands == {"list", "run"}


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "smslab", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout


@pytest.mark.parametrize(
    "name",
    [
        "demo",
        "numbers",
        "rules",
        "segments",
        "cost",
        "check",
        "send",
        "ingest",
        "serve",
        "load",
        "pull",
        "smpp-receive",
        "conversions",
    ],
)
def test_every_command_documents_an_example(name):
    result = run(name, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and f"smslab {name}" in result.output


def test_segments_json_is_one_valid_document():
    result = run("segments", "Prix: 10€", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["encoding"] == "GSM-7" and doc["segments"] == 1


def test_load_json_on_empty_journal():
    result = run("load", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"loaded": 0, "duplicates": 0, "quarantined": 0}


# ---- smslab conversions ------------------------------------------------------------------------

ORDERS = (
    "msisdn,time,value,reference\n"
    "not a number,2026-12-02T10:00:00Z,5,o0\n"  # line 2: bad number, first: must not stop the load
    "06 12 34 56 02,2026-12-02T10:00:00Z,30,o1\n"  # national: needs --region FR
    "+1 415 555 0101,2026-12-02 11:00,20.5,o2\n"
    "+33612345603,yesterday,5,o3\n"
)  # line 5: bad time


def _conversions(db):
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT msisdn, value, currency FROM conversions ORDER BY value").fetchall()
        reasons = [r[0] for r in con.execute("SELECT location FROM quarantine ORDER BY location").fetchall()]
    return rows, reasons


def test_conversions_loads_good_rows_past_bad_ones_and_a_second_import_adds_nothing(tmp_path):
    orders, db = tmp_path / "orders.csv", tmp_path / "c.duckdb"
    orders.write_text(ORDERS, encoding="utf-8")
    first = run("conversions", str(orders), "--region", "FR", "--currency", "eur", "--db", str(db), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"loaded": 2, "duplicates": 0, "quarantined": 2, "new_quarantined": 2}
    rows, locations = _conversions(db)
    assert rows == [("+14155550101", 20.5, "EUR"), ("+33612345602", 30.0, "EUR")]
    assert locations == [f"{orders}:2", f"{orders}:5"]
    again = run("conversions", str(orders), "--region", "FR", "--currency", "EUR", "--db", str(db), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"loaded": 0, "duplicates": 2, "quarantined": 2, "new_quarantined": 0}
    assert _conversions(db) == (rows, locations)


def test_conversions_without_json_prints_one_readable_line(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    result = run("conversions", str(orders), "--region", "FR", "--db", str(tmp_path / "c.duckdb"))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{orders}: 2 loaded, 0 already there, 2 quarantined (reasons in the quarantine table)\n"


def test_conversions_where_every_row_is_bad_exits_1_naming_the_file(tmp_path):
    orders, db = tmp_path / "orders.csv", tmp_path / "c.duckdb"
    orders.write_text(ORDERS, encoding="utf-8")
    result = run("conversions", str(orders), "--db", str(db), "--json")  # no --region: the national number fails too
    assert result.exit_code == 0  # one row loaded: a partial load is not a failure
    assert json.loads(result.stdout) == {"loaded": 1, "duplicates": 0, "quarantined": 3, "new_quarantined": 3}
    only_bad = tmp_path / "bad.csv"
    only_bad.write_text("msisdn,time,value\n0612345602,2026-12-02T10:00:00Z,1\n", encoding="utf-8")
    result = run("conversions", str(only_bad), "--db", str(db))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"smslab: nothing loaded: all 1 row(s) of {only_bad} quarantined (reasons "
        "in the quarantine table); pass --region if the numbers have no +CC"
    ]


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("missing.csv", None, "no such conversions file"),
        ("folder", "folder", "is a folder; expected a CSV file"),
        ("latin1.csv", "msisdn,time,value\n+33612345602,2026-12-02,3\u20ac\n".encode("cp1252"), "not UTF-8 text"),
        ("empty.csv", b"", "line 1: empty file"),
        ("columns.csv", b"phone,amount\n+33612345602,3\n", "missing column(s) time"),
    ],
)
def test_conversions_file_problems_are_one_line_and_exit_2(tmp_path, name, content, fragment):
    path, db = tmp_path / name, tmp_path / "c.duckdb"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    result = run("conversions", str(path), "--db", str(db), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"smslab: {path}: ") and fragment in lines[0], lines
    assert not db.exists() or _conversions(db) == ([], [])


def test_conversions_unreadable_file_is_one_line_and_exit_2(tmp_path, monkeypatch):
    from pathlib import Path

    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    real_open = Path.open

    def refuse(self, *args, **kwargs):  # chmod 000 does not stop root, so the OS refusal is simulated
        if self == orders:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    result = run("conversions", str(orders), "--db", str(tmp_path / "c.duckdb"))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"smslab: {orders}: cannot read the conversions file (Permission denied)"]


@pytest.mark.parametrize(
    "flag, value, fragment",
    [("--region", "XX", "two-letter region code"), ("--currency", "euros", "three-letter currency code")],
)
def test_conversions_bad_flag_is_one_line_and_exit_2(tmp_path, flag, value, fragment):
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    result = run("conversions", str(orders), flag, value, "--db", str(tmp_path / "c.duckdb"))
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"smslab: Invalid value for '{flag}': ") and fragment in lines[0]


def test_user_error_is_one_line_not_a_traceback(tmp_path):
    result = run("check", str(tmp_path / "missing.yaml"), "--json")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "missing.yaml" in result.output


# --- smslab send: --throughput, --batch-size, --max-retries -----------------------------------


@pytest.mark.parametrize(
    "values, expected",
    [
        ([], None),
        (["20"], 20.0),
        (["0.5"], 0.5),
        (["1e3"], 1000.0),
        (["36180=30"], {"36180": 30.0}),
        (["36180=30", "ACME=2.5"], {"36180": 30.0, "ACME": 2.5}),
        ([" ACME = 4 "], {"ACME": 4.0}),
    ],
)
def test_throughput_values_become_the_librarys_throughput_argument(values, expected):
    from smslab.cli import Throughput, throughput_setting

    parsed = tuple(Throughput().convert(v, None, None) for v in values)
    assert throughput_setting(parsed) == expected


@pytest.mark.parametrize(
    "args, hint, fragment",
    [
        (["--throughput", "0"], "--throughput", "'0': expected messages per second, a number > 0"),
        (["--throughput", "-2"], "--throughput", "'-2': expected messages per second"),
        (["--throughput", "abc"], "--throughput", "'abc': expected messages per second"),
        (["--throughput", "nan"], "--throughput", "'nan': expected messages per second"),
        (["--throughput", "X="], "--throughput", "'X=': sender X: expected messages per second"),
        (["--throughput", "=5"], "--throughput", "'=5': the sender id before '=' is missing"),
        (["--throughput", "5", "--throughput", "ACME=2"], "--throughput", "not both or twice"),
        (["--throughput", "5", "--throughput", "6"], "--throughput", "not both or twice"),
        (["--throughput", "ACME=5", "--throughput", "ACME=6"], "--throughput", "sender ACME is given twice"),
        (["--batch-size", "0"], "--batch-size", "0 is not in the range x>=1"),
        (["--batch-size", "ten"], "--batch-size", "'ten' is not a valid integer"),
        (["--max-retries", "-1"], "--max-retries", "-1 is not in the range x>=0"),
    ],
)
def test_a_bad_send_option_is_one_line_on_stderr_and_exit_2(tmp_path, args, hint, fragment):
    # the spec does not exist: the option is refused before anything reads it
    result = run("send", str(tmp_path / "campaign.yaml"), *args, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"smslab: Invalid value for '{hint}': ") and fragment in lines[0]
    assert "Traceback" not in result.output


def test_a_throughput_for_a_sender_the_campaign_does_not_have_is_refused(tmp_path):
    from fakes.campaign import NOW, write_spec

    spec = write_spec(tmp_path)
    result = run("send", str(spec), "--now", NOW, "--throughput", "36180=30", "--throughput", "3618O=30", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"smslab: {spec}: throughput (--throughput): no sender 3618O (its senders: 36180)"
    ]


def test_the_library_refuses_a_throughput_for_an_unknown_sender_before_writing_anything(tmp_path):
    # the check lives in smslab.sending.send, not only in the CLI: a notebook gets the same refusal
    from fakes.campaign import NOW, write_spec
    from smslab.errors import SpecError
    from smslab.sending import send

    spec = write_spec(tmp_path)
    db = tmp_path / "out.duckdb"
    with pytest.raises(SpecError, match="no sender 3618O"):
        send(
            spec,
            throughput={"3618O": 30.0},
            db=db,
            now=datetime.fromisoformat(NOW.replace("Z", "+00:00")).replace(tzinfo=None),
        )
    assert not db.exists()


def test_send_with_a_throughput_goes_through_the_simulator(tmp_path):
    from fakes.campaign import NOW, write_spec

    spec = write_spec(tmp_path)
    db = tmp_path / "cli.duckdb"
    result = run("send", str(spec), "--now", NOW, "--throughput", "500", "--batch-size", "7", "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["submitted"] == 40 and doc["retry_later"] == 0 and doc["failed"] == 0
    assert result.stderr == ""


def test_send_options_reach_the_provider_through_the_library(tmp_path, monkeypatch):
    """--batch-size cuts the requests, --max-retries bounds the retries, --throughput is the library's argument."""
    import smslab.sending
    from fakes.campaign import NOW, write_spec
    from fakes.infobip import FakeInfobip

    real_send, calls = smslab.sending.send, []

    def recording_send(spec, **kwargs):
        calls.append(kwargs)
        return real_send(spec, **kwargs)

    monkeypatch.setattr(smslab.sending, "send", recording_send)
    spec = write_spec(tmp_path)
    with FakeInfobip(api_key="k") as fake:
        monkeypatch.setenv("INFOBIP_BASE_URL", fake.url)
        monkeypatch.setenv("INFOBIP_API_KEY", "k")
        fake.script = [429, 429]  # the first batch is refused twice; one retry is allowed
        result = run(
            "send",
            str(spec),
            "--now",
            NOW,
            "--provider",
            "infobip",
            "--throughput",
            "36180=10000",
            "--batch-size",
            "15",
            "--max-retries",
            "1",
            "--db",
            str(tmp_path / "cli.duckdb"),
            "--json",
        )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["submitted"] == 25 and doc["retry_later"] == 15 and doc["retries"] == 1
    assert [len(b["messages"]) for b in fake.bodies] == [15, 10] and fake.sends == 4 and fake.problems == []
    assert calls == [
        {
            "provider": "infobip",
            "dry_run": False,
            "db": str(tmp_path / "cli.duckdb"),
            "throughput": {"36180": 10000.0},
            "batch_size": 15,
            "max_retries": 1,
            "now": datetime(2026, 11, 23, 9, 0),
        }
    ]
    assert result.stderr.splitlines() == [
        "smslab: 15 message(s) were refused for now and stay queued (the reason is "
        "in messages.error_code); run `smslab send` again later"
    ]
