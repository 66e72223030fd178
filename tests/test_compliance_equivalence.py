"""The vectorised decision pass answers exactly like the per-row reference, on messy audiences."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from smslab import store
from smslab.campaign import parse_spec
from smslab.compliance.campaign_rules import campaign_issues
from smslab.compliance.recipients import evaluate
from smslab.compliance.reference import decide_rows
from smslab.rules import load

ZONES = {
    "FR": [["Europe/Paris"]],
    "US": [
        ["America/New_York"],
        ["America/Los_Angeles"],
        ["America/Chicago", "America/Denver"],
        [],
        ["Etc/Unknown"],
        ["Not/AZone"],
    ],
    "KE": [["Africa/Nairobi"]],
    "ZA": [["Africa/Johannesburg"]],
    "EG": [["Africa/Cairo"]],
    "BR": [["America/Sao_Paulo"], ["America/Manaus"]],
    "ES": [["Europe/Madrid"]],
    "IN": [["Asia/Kolkata"]],
    "LT": [["Europe/Vilnius"]],
    "GB": [["Europe/London"]],
}
SPEC = {
    "name": "equivalence",
    "purpose": "marketing",
    "two_way": True,
    "audience": "unused.csv",
    "senders": {
        "FR": {"type": "short_code", "id": "36180", "brand": "ACME"},
        "US": {"type": "short_code", "id": "45678"},
        "KE": {"type": "alphanumeric", "id": "ACME", "opt_out_short_code": "21456", "two_way": False},
        "ZA": {"type": "long_code", "id": "27600000000"},
        "EG": {"type": "alphanumeric", "id": "ACME", "two_way": False},
        "BR": {"type": "short_code", "id": "28990"},
        "ES": {"type": "long_code", "id": "34600900123"},
        "IN": {"type": "long_code", "id": "919000000000"},  # blocked: no marketing from a VLN
        "LT": {"type": "long_code", "id": "37060000000"},
    },  # no rules for LT
    "message": {
        "text": "ACME: -30%. STOP au 36180",
        "variants": {"B": "ACME: -30% aujourd'hui"},  # B lacks the wording in FR
        "by_country": {
            "US": "Reply STOP to opt out",
            "KE": "Opt out: STOP to 21456",
            "ZA": "Reply STOP to opt out",
            "BR": "Para sair: SAIR",
            "EG": "ACME sale",
        },
    },
}
MOMENTS = [
    datetime(2026, 11, 24, 19, 10),
    datetime(2026, 11, 29, 9, 0),
    datetime(2026, 7, 14, 9, 0),
    datetime(2026, 12, 25, 14, 0),
    datetime(2026, 11, 27, 5, 59),
    datetime(2026, 11, 24, 19, 0),  # 20:00 in Madrid: the end of the default window (exclusive)
    datetime(2026, 11, 24, 19, 30),  # 20:30 in Paris: the end of FR's window
    datetime(2026, 12, 8, 10, 0),
]  # a Spanish public holiday, 11:00 in Madrid


def audience(rng: np.random.Generator, n: int) -> pd.DataFrame:
    ccs = list(ZONES) + ["GB", None]
    region = [ccs[i] for i in rng.integers(0, len(ccs), n)]
    zones = [list(ZONES.get(r or "", [[]])[rng.integers(0, len(ZONES.get(r or "", [[]])))]) for r in region]
    consent = pd.Series(pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 500 * 24, n), unit="h"))
    return pd.DataFrame(
        {
            "msisdn": [f"+{100000000 + i}" for i in range(n)],
            "region": region,
            "valid": rng.random(n) > 0.03,
            "time_zones": zones,
            "consent_at": consent.where(rng.random(n) > 0.1),
        }
    )


def assert_same(expected: list, decisions: pd.DataFrame, at: datetime) -> None:
    """The vectorised decisions equal the reference's, row by row (msisdn, decision, reason, next time)."""
    got = list(
        zip(
            decisions["msisdn"],
            decisions["decision"].astype(str),
            decisions["reason"].astype(object).where(decisions["reason"].notna(), None),
            decisions["next_allowed_at"],
            strict=True,
        )
    )
    for (m, d, r, nx), (gm, gd, gr, gn) in zip(expected, got, strict=True):
        assert (m, d, r) == (gm, gd, gr), (at, m)
        assert (nx is None and pd.isna(gn)) or pd.Timestamp(nx) == gn, (at, m)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_pass_matches_the_reference(tmp_path, seed):
    rng = np.random.default_rng(seed)
    spec = parse_spec(SPEC)
    rs = load()
    frame = audience(rng, 1500)
    con = store.connect(tmp_path / "eq.duckdb")
    picked = frame.sample(n=200, random_state=seed)
    scopes = ["36180", "ACME", "21456", "45678", "*", "other"]
    ledger_rows = [
        (
            f"c{i}",
            m,
            scopes[rng.integers(0, len(scopes))],
            ["opt_in", "opt_out"][rng.integers(0, 2)],
            "test",
            "",
            datetime(2026, 10, 1 + rng.integers(0, 3)),
        )
        for i, m in enumerate(list(picked["msisdn"]) * 2)
    ]  # repeats make ties and reversals
    con.executemany("INSERT INTO consent VALUES (?, ?, ?, ?, ?, ?, ?)", ledger_rows)
    latest = con.execute(
        "SELECT msisdn, scope, arg_max(action, epoch_us(recorded_at) * 2 + "
        "(action = 'opt_out')::INT) FROM consent GROUP BY ALL"
    ).fetchall()
    ledger = {(m, s): a for m, s, a in latest}
    for at in MOMENTS:
        regions = sorted({r for r in frame["region"] if isinstance(r, str)})
        issues = campaign_issues(spec, regions, ruleset=rs, at=at, now=at)
        decisions, _ = evaluate(spec, frame, rs, at, issues, con=con)
        expected = decide_rows(spec, frame, rs, at, issues, ledger)
        assert_same(expected, decisions, at)
        assert {d for _, d, _, _ in expected} == {"allowed", "deferred", "blocked"} or at == MOMENTS[2]
        if at == datetime(2026, 12, 8, 10, 0):  # the holiday rule of Spain is unknown: holidays excluded
            assert ("ES", "public_holiday") in set(zip(frame["region"], decisions["reason"], strict=False))
    con.close()


US_AREA_CODES = ["305", "786", "212", "214", "512", "310", "907", "808", "405", "602", "800"]


@pytest.mark.parametrize("seed", [4, 5])
def test_state_windows_agree_with_the_reference(tmp_path, monkeypatch, seed):
    """US numbers across states (Florida, Texas with a start date, Oklahoma, unplaced ones) on schema-2 rules."""
    from test_state_rules_and_caps import SENDERS, every_day, write_rules

    folder = tmp_path / "rules"
    write_rules(
        folder,
        "US",
        "United States",
        [
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "America/Anchorage",
            "Pacific/Honolulu",
        ],
        [
            *SENDERS,
            {"fact": "quiet_hours.allowed", "value": every_day("08:00-21:00")},
            {"fact": "consent.marketing", "value": "required"},
            {"fact": "quiet_hours.allowed", "value": every_day("08:00-20:00"), "region": "US-FL"},
            {"fact": "quiet_hours.excluded_days", "value": ["sun"], "region": "US-OK"},
            {"fact": "quiet_hours.holidays", "value": "excluded", "region": "US-OK"},
            {
                "fact": "quiet_hours.allowed",
                "value": {**every_day("09:00-21:00"), "sun": ["12:00-21:00"]},
                "region": "US-TX",
                "effective_from": "2025-09-01",
            },
        ],
        subdivisions={"US-FL": {"name": "Florida"}, "US-TX": {"name": "Texas"}, "US-OK": {"name": "Oklahoma"}},
    )
    monkeypatch.setenv("SMSLAB_RULES_DIR", str(folder))
    rs = load()
    rng = np.random.default_rng(seed)
    n = 600
    codes = [US_AREA_CODES[i] for i in rng.integers(0, len(US_AREA_CODES), n)]
    from smslab.numbers import normalize

    numbers = [f"+1{c}555{1000 + i:04d}" for i, c in enumerate(codes)]
    zones = normalize(pd.Series(numbers, dtype=object))["time_zones"]
    frame = pd.DataFrame(
        {
            "msisdn": numbers,
            "region": "US",
            "valid": True,
            "time_zones": list(zones),
            "consent_at": pd.Timestamp("2024-01-01"),
        }
    )
    spec = parse_spec(
        {
            "name": "states",
            "purpose": "marketing",
            "two_way": True,
            "audience": "unused.csv",
            "senders": {"US": {"type": "short_code", "id": "45678"}},
            "message": {"text": "ACME: Reply STOP to opt out"},
        }
    )
    moments = [
        datetime(2026, 11, 25, 1, 30),
        datetime(2026, 11, 29, 16, 30),
        datetime(2025, 8, 31, 15, 30),
        datetime(2026, 11, 26, 15, 0),
        datetime(2026, 11, 24, 13, 0),
    ]
    for at in moments:
        day_rules = rs.at(at)
        decisions, _ = evaluate(spec, frame, day_rules, at, [], con=None)
        expected = decide_rows(spec, frame, day_rules, at, [], {})
        assert_same(expected, decisions, at)
    # the states' rules made a difference somewhere: Florida closes at 20:00, New York at 21:00
    first = dict(
        zip(
            frame["msisdn"],
            evaluate(spec, frame, rs.at(moments[0]), moments[0], [], con=None)[0]["decision"],
            strict=False,
        )
    )
    assert {first[m] for m, c in zip(numbers, codes, strict=False) if c in ("305", "786")} == {"deferred"}
    assert {first[m] for m, c in zip(numbers, codes, strict=False) if c == "212"} == {"allowed"}
