"""Benchmark: the compliance check on 1M recipients over 10 countries.

Prints recipients per second for `smslab.compliance.check` (decisions + findings + writing
`recipient_checks` and `findings` to DuckDB) and for the decision pass alone, against a named
baseline measured in the same run: a per-row Python loop making the same decisions
(`baseline_per_row`) on a sample, whose answers must match the vectorised pass.

    .venv/bin/python bench/compliance.py [--rows 1000000] [--sample 20000]

Audience loading (phone-number parsing) is excluded: bench/numbers.py measures it.
"""

from __future__ import annotations

import os
import sys

# bench/numbers.py would shadow the standard library's `numbers` (numpy imports it): drop this folder
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from smslab import store  # noqa: E402
from smslab.audience import AudienceLoad  # noqa: E402
from smslab.campaign import parse_spec  # noqa: E402
from smslab.compliance import check  # noqa: E402
from smslab.compliance.campaign_rules import campaign_issues  # noqa: E402
from smslab.compliance.recipients import evaluate  # noqa: E402
from smslab.compliance.reference import decide_rows  # noqa: E402
from smslab.rules import load  # noqa: E402

AT = "2026-11-24T19:10:00+00:00"  # evening in Europe, afternoon in the Americas, night in Asia
COUNTRIES = {  # cc: (sender, calling code, zones to draw from, text)
    "FR": ({"type": "short_code", "id": "36180"}, "33", [["Europe/Paris"]], "ACME: -30% aujourd'hui. STOP au 36180"),
    "US": (
        {"type": "short_code", "id": "45678"},
        "1",
        [
            ["America/New_York"],
            ["America/Chicago"],
            ["America/Denver"],
            ["America/Los_Angeles"],
            ["America/Chicago", "America/New_York"],
        ],
        "ACME: 30% off. Reply STOP to opt out.",
    ),
    "GB": (
        {"type": "long_code", "id": "447700900123"},
        "44",
        [["Europe/London"]],
        "ACME: 30% off. Reply STOP to opt out.",
    ),
    "DE": ({"type": "long_code", "id": "4915799900123"}, "49", [["Europe/Berlin"]], "ACME: 30% Rabatt. Abmelden: STOP"),
    "ES": (
        {"type": "long_code", "id": "34600900123"},
        "34",
        [["Europe/Madrid"], ["Atlantic/Canary"]],
        "ACME: 30% hoy. BAJA",
    ),
    "IT": ({"type": "long_code", "id": "393000000000"}, "39", [["Europe/Rome"]], "ACME: 30% oggi. STOP"),
    "KE": (
        {"type": "alphanumeric", "id": "ACME", "opt_out_short_code": "21456", "two_way": False},
        "254",
        [["Africa/Nairobi"]],
        "ACME: 30% off today. Opt out: STOP to 21456",
    ),
    "BR": (
        {"type": "short_code", "id": "28990"},
        "55",
        [["America/Sao_Paulo"], ["America/Manaus"], ["America/Noronha"]],
        "ACME: 30% hoje. Para sair: SAIR",
    ),
    "IN": ({"type": "short_code", "id": "561234", "two_way": False}, "91", [["Asia/Kolkata"]], "ACME: 30% off today."),
    "AU": (
        {"type": "long_code", "id": "61400000000"},
        "61",
        [["Australia/Sydney"], ["Australia/Perth"], ["Australia/Brisbane"]],
        "ACME: 30% off. Reply STOP to opt out.",
    ),
}


def make_spec():
    return parse_spec(
        {
            "name": "bench-compliance",
            "purpose": "marketing",
            "two_way": True,
            "audience": "unused.csv",
            "senders": {cc: s for cc, (s, *_rest) in COUNTRIES.items()},
            "message": {"text": "ACME", "by_country": {cc: t for cc, (_s, _c, _z, t) in COUNTRIES.items()}},
        }
    )


def make_audience(rows: int, seed: int = 7) -> pd.DataFrame:
    """An audience frame as `smslab.audience.load` returns it (one list of zones per row)."""
    rng = np.random.default_rng(seed)
    ccs = list(COUNTRIES)
    region = np.array(ccs, dtype=object)[rng.integers(0, len(ccs), rows)]
    subscriber = rng.choice(10**9, size=rows, replace=False) + 10**9
    msisdn = ["+" + COUNTRIES[r][1] + str(s) for r, s in zip(region, subscriber, strict=False)]
    zones = [
        list(COUNTRIES[r][2][i % len(COUNTRIES[r][2])]) for i, r in zip(rng.integers(0, 5, rows), region, strict=False)
    ]
    consent = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 400 * 24, rows), unit="h")
    consent = pd.Series(consent).where(rng.random(rows) > 0.05)  # 5% never consented
    return pd.DataFrame(
        {
            "msisdn": msisdn,
            "region": region,
            "valid": True,
            "number_type": "mobile",
            "time_zone": [z[0] for z in zones],
            "time_zones": zones,
            "carrier": "",
            "consent_at": consent,
            "consent_source": "web",
            "attributes": "{}",
        }
    )


def seed_ledger(con, frame: pd.DataFrame, share: float = 0.02, seed: int = 8) -> int:
    rng = np.random.default_rng(seed)
    picked = frame.sample(frac=share, random_state=seed)
    scopes = {cc: s["id"] for cc, (s, *_r) in COUNTRIES.items()}
    ledger = pd.DataFrame(
        {
            "consent_id": [f"b{i}" for i in range(len(picked))],
            "msisdn": picked["msisdn"].to_numpy(),
            "scope": [scopes[r] if rng.random() < 0.7 else "*" for r in picked["region"]],
            "action": np.where(rng.random(len(picked)) < 0.8, "opt_out", "opt_in"),
            "source": "inbound",
            "evidence": "STOP",
            "recorded_at": pd.Timestamp("2026-10-01") + pd.to_timedelta(rng.integers(0, 1000, len(picked)), unit="h"),
        }
    )
    con.register("_ledger", ledger)
    con.execute("INSERT INTO consent SELECT * FROM _ledger")
    con.unregister("_ledger")
    return len(ledger)


def baseline_per_row(spec, frame: pd.DataFrame, rs, at: datetime, issues, ledger: dict) -> list[tuple]:
    """The obvious implementation: one Python iteration per recipient (`compliance.reference`)."""
    return decide_rows(spec, frame, rs, at, issues, ledger)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="rows for the per-row baseline")
    args = parser.parse_args()

    spec = make_spec()
    rs = load()
    frame = make_audience(args.rows)
    loaded = AudienceLoad(frame=frame)  # what smslab.audience.load returns (numbers already unique)
    at = datetime(2026, 11, 24, 19, 10)
    with tempfile.TemporaryDirectory() as tmp:
        con = store.connect(Path(tmp) / "bench.duckdb")
        ledger_rows = seed_ledger(con, frame)
        print(
            f"audience: {len(frame):,} recipients, {frame['region'].nunique()} countries; "
            f"consent ledger: {ledger_rows:,} rows"
        )

        issues = campaign_issues(spec, sorted(COUNTRIES), ruleset=rs, at=at, now=at)
        evaluate(spec, frame.head(1000), rs, at, issues, con=con)  # warm-up: imports, holiday tables
        t0 = time.perf_counter()
        decisions, _ = evaluate(spec, frame, rs, at, issues, con=con)
        t_eval = time.perf_counter() - t0

        t0 = time.perf_counter()
        result = check(spec, at=AT, con=con, audience=loaded, ruleset=rs)
        t_check = time.perf_counter() - t0
        stored = con.execute("SELECT count(*) FROM recipient_checks WHERE campaign_id = 'bench-compliance'").fetchone()[
            0
        ]
        assert stored == len(frame), stored

        t0 = time.perf_counter()
        check(spec, at=AT, con=con, audience=loaded, ruleset=rs)
        t_recheck = time.perf_counter() - t0

        sample = frame.sample(n=min(args.sample, len(frame)), random_state=1)
        latest = con.execute(
            "SELECT msisdn, scope, arg_max(action, epoch_us(recorded_at) * 2 + "
            "(action = 'opt_out')::INT) FROM consent GROUP BY ALL"
        ).fetchall()
        ledger = {(m, s): a for m, s, a in latest}
        t0 = time.perf_counter()
        base = baseline_per_row(spec, sample, rs, at, issues, ledger)
        t_base = time.perf_counter() - t0
        con.close()

    fast = decisions.set_index("msisdn").loc[[b[0] for b in base]]
    mismatches = sum(
        1
        for (m, d, r, n), (fd, fr, fn) in zip(
            base, fast[["decision", "reason", "next_allowed_at"]].itertuples(index=False, name=None), strict=False
        )
        if d != fd
        or (r or None) != (fr if isinstance(fr, str) else None)
        or (n is not None and pd.Timestamp(n) != fn)
        or (n is None and pd.notna(fn))
    )
    counts = result.summary()["recipients"]
    rate_check = len(frame) / t_check
    rate_eval = len(frame) / t_eval
    rate_base = len(sample) / t_base
    print(f"decisions: {counts}")
    print(f"check() incl. findings + DuckDB writes: {t_check:6.2f} s  {rate_check:12,.0f} recipients/s")
    print(f"re-check (replaces the first's rows):  {t_recheck:6.2f} s  {len(frame) / t_recheck:12,.0f} recipients/s")
    print(f"decision pass alone (evaluate):        {t_eval:6.2f} s  {rate_eval:12,.0f} recipients/s")
    print(f"baseline_per_row on {len(sample):,} rows:        {t_base:6.2f} s  {rate_base:12,.0f} recipients/s")
    print(f"ratio check()/baseline: {rate_check / rate_base:,.1f}x; evaluate/baseline: {rate_eval / rate_base:,.1f}x")
    print(f"answers identical to the baseline on the sample: {mismatches == 0} ({mismatches} mismatches)")
    print(
        f"target >= 200,000 recipients/s: decision pass {'met' if rate_eval >= 200_000 else 'NOT met'}; "
        f"check() with DuckDB writes {'met' if rate_check >= 200_000 else 'NOT met'}"
    )
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
