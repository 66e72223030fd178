"""Scenario tests around every boundary of the compliance check (real DuckDB files in tmp_path)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from smslab import store
from smslab.compliance import check

FR_TEXT = "ACME: -30% aujourd'hui. STOP au 36180"


def make_campaign(
    tmp_path: Path,
    rows: list[dict],
    *,
    purpose="marketing",
    two_way=True,
    senders=None,
    text=FR_TEXT,
    by_country=None,
    variants=None,
    name="scenario",
    extra=None,
) -> Path:
    """Write an audience CSV and a spec next to it; return the spec path."""
    frame = pd.DataFrame(rows)
    if "consent_at" not in frame:
        frame["consent_at"] = "2026-01-01T00:00:00"
    frame.to_csv(tmp_path / "audience.csv", index=False)
    spec = {
        "name": name,
        "purpose": purpose,
        "two_way": two_way,
        "audience": "audience.csv",
        "senders": senders or {"FR": {"type": "short_code", "id": "36180"}},
        "message": {
            "text": text,
            **({"by_country": by_country} if by_country else {}),
            **({"variants": variants} if variants else {}),
        },
    }
    spec.update(extra or {})
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def decision(result, msisdn: str) -> pd.Series:
    rows = result.decisions[result.decisions["msisdn"] == msisdn]
    assert len(rows) == 1, f"{msisdn} not decided exactly once"
    return rows.iloc[0]


def rules_of(result) -> set[str]:
    return {f["rule"] for f in result.findings}


FR_NUMBER = "+33612345678"
NY_NUMBER = "+12125550123"  # Manhattan: America/New_York
LA_NUMBER = "+13105550123"  # Los Angeles: America/Los_Angeles


@pytest.fixture
def db(tmp_path):
    return tmp_path / "smslab.duckdb"


# -- France: weekday evening cut-off, Sunday, 14 July -------------------------------------------


@pytest.mark.parametrize(
    "at,expected",
    [
        ("2026-11-24T20:29:00+01:00", "allowed"),  # Tuesday, one minute before the 20:30 cut-off
        ("2026-11-24T20:30:00+01:00", "deferred"),  # Tuesday, at the cut-off
        ("2026-11-24T07:59:00+01:00", "deferred"),  # Tuesday, one minute before the morning opening
        ("2026-11-24T08:00:00+01:00", "allowed"),
        ("2026-11-29T11:00:00+01:00", "deferred"),  # Sunday
        ("2026-07-14T11:00:00+02:00", "deferred"),  # Tuesday 14 July, Fête nationale
        ("2026-07-15T11:00:00+02:00", "allowed"),  # the day after
    ],
)
def test_france_quiet_hours(tmp_path, db, at, expected):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}])
    result = check(spec, at=at, db=db)
    row = decision(result, FR_NUMBER)
    assert row["decision"] == expected, (at, row["reason"])
    if expected == "deferred":
        assert pd.notna(row["next_allowed_at"])
        assert row["next_allowed_at"] > pd.Timestamp(result.evaluated_at)
    else:
        assert pd.isna(row["next_allowed_at"])


def test_france_next_allowed_times(tmp_path, db):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}])
    # Tuesday 20:30 Paris -> Wednesday 08:00 Paris (07:00 UTC)
    row = decision(check(spec, at="2026-11-24T20:30:00+01:00", db=db), FR_NUMBER)
    assert row["next_allowed_at"] == pd.Timestamp("2026-11-25 07:00")
    assert row["reason"] == "quiet_hours"
    # Friday evening -> Monday 08:00 (Saturday and Sunday are not allowed by default)
    row = decision(check(spec, at="2026-11-27T21:00:00+01:00", db=db), FR_NUMBER)
    assert row["next_allowed_at"] == pd.Timestamp("2026-11-30 07:00")
    # 14 July (a Tuesday) -> Wednesday 15 July 08:00 Paris (06:00 UTC, summer time)
    row = decision(check(spec, at="2026-07-14T11:00:00+02:00", db=db), FR_NUMBER)
    assert row["reason"] == "public_holiday"
    assert row["next_allowed_at"] == pd.Timestamp("2026-07-15 06:00")


# -- United States: the same instant in New York and Los Angeles ------------------------------


def test_same_instant_new_york_and_los_angeles(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": NY_NUMBER}, {"msisdn": LA_NUMBER}],
        senders={"US": {"type": "short_code", "id": "45678"}},
        text="ACME: 30% off today. Reply STOP to opt out.",
    )
    # 06:30 in New York = 03:30 in Los Angeles: both too early
    early = check(spec, at="2026-11-24T11:30:00Z", db=db)
    assert decision(early, NY_NUMBER)["decision"] == "deferred"
    assert decision(early, LA_NUMBER)["decision"] == "deferred"
    assert decision(early, NY_NUMBER)["next_allowed_at"] == pd.Timestamp("2026-11-24 13:00")  # 08:00 EST
    assert decision(early, LA_NUMBER)["next_allowed_at"] == pd.Timestamp("2026-11-24 16:00")  # 08:00 PST
    # 09:00 in New York = 06:00 in Los Angeles
    result = check(spec, at="2026-11-24T14:00:00Z", db=db)
    assert decision(result, NY_NUMBER)["decision"] == "allowed"
    assert decision(result, LA_NUMBER)["decision"] == "deferred"
    # 20:30 in New York = 17:30 in Los Angeles
    result = check(spec, at="2026-11-25T01:30:00Z", db=db)
    assert decision(result, NY_NUMBER)["decision"] == "deferred"
    assert decision(result, LA_NUMBER)["decision"] == "allowed"


# -- campaign-level: India long code, Kenya alphanumeric ----------------------------------------


def test_india_marketing_from_a_long_code_blocks(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+919812345678"}],
        two_way=False,
        senders={"IN": {"type": "long_code", "id": "919000000000"}},
        text="ACME sale today",
    )
    result = check(spec, at="2026-11-24T12:00:00+05:30", db=db)
    assert result.blocking
    finding = next(f for f in result.findings if f["rule"] == "sender_type_not_allowed")
    assert finding["country"] == "IN" and finding["severity"] == "block" and finding["recipients"] == 1
    assert "marketing" in finding["message"]
    assert decision(result, "+919812345678")["decision"] == "blocked"


def test_india_transactional_from_a_long_code_is_not_blocked_as_marketing(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+919812345678"}],
        purpose="transactional",
        two_way=False,
        senders={"IN": {"type": "alphanumeric", "id": "ACMEIN"}},
        text="Your code is 1234",
    )
    result = check(spec, at="2026-11-24T23:30:00+05:30", db=db)  # outside marketing hours
    assert not result.blocking
    assert decision(result, "+919812345678")["decision"] == "allowed"


KE_NUMBER = "+254712345678"


def test_kenya_alphanumeric_without_opt_out_short_code_blocks(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": KE_NUMBER}],
        two_way=False,
        senders={"KE": {"type": "alphanumeric", "id": "ACME"}},
        text="ACME: 30% off today. Opt out: STOP to 21456",
    )
    result = check(spec, at="2026-11-24T10:00:00+03:00", db=db)
    assert result.blocking
    assert "opt_out_short_code_missing" in rules_of(result)
    assert decision(result, KE_NUMBER)["reason"] == "opt_out_short_code_missing"


def test_kenya_alphanumeric_with_opt_out_short_code_passes(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": KE_NUMBER}],
        two_way=False,
        senders={"KE": {"type": "alphanumeric", "id": "ACME", "opt_out_short_code": "21456"}},
        text="ACME: 30% off today. Opt out: STOP to 21456",
    )
    result = check(spec, at="2026-11-24T10:00:00+03:00", db=db)
    assert not result.blocking, result.summary()
    assert decision(result, KE_NUMBER)["decision"] == "allowed"


def test_kenya_alphanumeric_two_way_blocks_even_with_opt_out_short_code(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": KE_NUMBER}],
        two_way=True,
        senders={"KE": {"type": "alphanumeric", "id": "ACME", "opt_out_short_code": "21456"}},
        text="ACME: 30% off today. Opt out: STOP to 21456",
    )
    result = check(spec, at="2026-11-24T10:00:00+03:00", db=db)
    assert "alphanumeric_two_way" in rules_of(result) and result.blocking


def test_kenya_promotional_after_six_pm_is_deferred(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": KE_NUMBER}],
        two_way=False,
        senders={"KE": {"type": "alphanumeric", "id": "ACME", "opt_out_short_code": "21456"}},
        text="ACME: 30% off today. Opt out: STOP to 21456",
    )
    row = decision(check(spec, at="2026-11-24T18:00:00+03:00", db=db), KE_NUMBER)
    assert row["decision"] == "deferred" and row["next_allowed_at"] == pd.Timestamp("2026-11-25 05:00")


# -- recipient-level: opt-out ledger, consent, transactional ------------------------------------


def test_opted_out_number_is_blocked_and_opt_in_later_restores(tmp_path, db):
    other = "+33698765432"
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}, {"msisdn": other}])
    con = store.connect(db)
    con.execute(
        "INSERT INTO consent VALUES ('c1', ?, '36180', 'opt_out', 'inbound', 'STOP', ?)",
        [FR_NUMBER, datetime(2026, 11, 1, 9)],
    )
    result = check(spec, at="2026-11-24T10:00:00+01:00", con=con)
    assert decision(result, FR_NUMBER)["decision"] == "blocked"
    assert decision(result, FR_NUMBER)["reason"] == "opted_out"
    assert decision(result, other)["decision"] == "allowed"
    assert not result.blocking  # recipient-level: the rest can still be sent
    finding = next(f for f in result.findings if f["rule"] == "opted_out")
    assert finding["severity"] == "warn" and finding["recipients"] == 1
    # a later opt-in in the same scope restores them
    con.execute(
        "INSERT INTO consent VALUES ('c2', ?, '36180', 'opt_in', 'inbound', 'START', ?)",
        [FR_NUMBER, datetime(2026, 11, 2, 9)],
    )
    assert decision(check(spec, at="2026-11-24T10:00:00+01:00", con=con), FR_NUMBER)["decision"] == "allowed"
    con.close()


def test_opt_out_from_all_scope_and_other_sender(tmp_path, db):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}, {"msisdn": "+33698765432"}])
    con = store.connect(db)
    con.execute(
        "INSERT INTO consent VALUES ('c1', ?, '*', 'opt_out', 'support', 'call', ?)", [FR_NUMBER, datetime(2026, 11, 1)]
    )
    con.execute(
        "INSERT INTO consent VALUES ('c2', '+33698765432', '38000', 'opt_out', 'inbound', 'STOP', ?)",
        [datetime(2026, 11, 1)],
    )  # another sender: not this campaign's scope
    result = check(spec, at="2026-11-24T10:00:00+01:00", con=con)
    assert decision(result, FR_NUMBER)["reason"] == "opted_out"
    assert decision(result, "+33698765432")["decision"] == "allowed"
    con.close()


def test_marketing_recipient_without_consent_is_blocked(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [
            {"msisdn": FR_NUMBER, "consent_at": ""},
            {"msisdn": "+33698765432", "consent_at": "2026-03-01T10:00:00"},
            {"msisdn": "+33611111111", "consent_at": "2026-12-31T10:00:00"},
        ],
    )
    result = check(spec, at="2026-11-24T10:00:00+01:00", db=db)
    assert decision(result, FR_NUMBER)["reason"] == "no_consent"
    assert decision(result, "+33611111111")["reason"] == "no_consent"  # consent after the send time
    assert decision(result, "+33698765432")["decision"] == "allowed"
    finding = next(f for f in result.findings if f["rule"] == "no_consent")
    assert finding["recipients"] == 2 and finding["severity"] == "warn"
    assert not result.blocking


def test_transactional_is_not_blocked_by_marketing_rules(tmp_path, db):
    # no consent, a Sunday night, no opt-out wording: none of that applies to a transactional message
    spec = make_campaign(
        tmp_path,
        [{"msisdn": FR_NUMBER, "consent_at": ""}],
        purpose="transactional",
        two_way=False,
        senders={"FR": {"type": "alphanumeric", "id": "ACME"}},
        text="Votre code ACME : 482913",
    )
    result = check(spec, at="2026-11-29T23:30:00+01:00", db=db)
    assert not result.blocking, result.summary()
    assert decision(result, FR_NUMBER)["decision"] == "allowed"


def test_transactional_still_respects_an_opt_out(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": FR_NUMBER}],
        purpose="transactional",
        two_way=False,
        senders={"FR": {"type": "alphanumeric", "id": "ACME"}},
        text="Votre colis arrive demain",
    )
    con = store.connect(db)
    con.execute(
        "INSERT INTO consent VALUES ('c1', ?, 'ACME', 'opt_out', 'inbound', 'STOP', ?)",
        [FR_NUMBER, datetime(2026, 11, 1)],
    )
    assert decision(check(spec, at="2026-11-24T10:00:00+01:00", con=con), FR_NUMBER)["reason"] == "opted_out"
    con.close()


# -- storage ----------------------------------------------------------------------------------


def test_results_are_written_and_replaced(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": FR_NUMBER, "consent_at": "2026-01-01T00:00:00"}, {"msisdn": "+33698765432", "consent_at": ""}],
    )
    check(spec, at="2026-11-24T10:00:00+01:00", db=db)
    check(spec, at="2026-11-24T21:00:00+01:00", db=db)  # a second run replaces the first
    con = store.connect(db)
    rows = con.execute(
        "SELECT msisdn, decision, reason, next_allowed_at FROM recipient_checks "
        "WHERE campaign_id = 'scenario' ORDER BY msisdn"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("+33612345678", "deferred", "quiet_hours"),
        ("+33698765432", "blocked", "no_consent"),
    ]
    assert rows[0][3] == datetime(2026, 11, 25, 7, 0)
    findings = con.execute(
        "SELECT rule, severity, region, recipients FROM findings WHERE campaign_id = 'scenario'"
    ).fetchall()
    assert ("no_consent", "warn", "FR", 1) in findings
    assert ("quiet_hours", "info", "FR", 1) in findings
    assert len(findings) == len({(f[0], f[2]) for f in findings})
    con.close()


def test_a_second_check_replaces_the_first_decisions(tmp_path, db):
    """recipient_checks has no key (big writes stay fast): each check replaces the campaign's rows."""
    con = store.connect(db)
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}])
    check(spec, at="2026-11-24T10:00:00+01:00", con=con)
    check(spec, at="2026-11-24T21:00:00+01:00", con=con)
    rows = con.execute("SELECT msisdn, decision FROM recipient_checks").fetchall()
    assert rows == [(FR_NUMBER, "deferred")]
    con.close()


def test_a_recipient_removed_from_the_audience_loses_its_old_decision(tmp_path, db):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}, {"msisdn": "+33698765432"}])
    check(spec, at="2026-11-24T10:00:00+01:00", db=db)
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}])
    check(spec, at="2026-11-24T10:00:00+01:00", db=db)
    con = store.connect(db)
    assert con.execute("SELECT msisdn FROM recipient_checks").fetchall() == [(FR_NUMBER,)]
    con.close()


def test_kenya_opt_out_on_the_short_code_blocks_the_alphanumeric_sender(tmp_path, db):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": KE_NUMBER}],
        two_way=False,
        senders={"KE": {"type": "alphanumeric", "id": "ACME", "opt_out_short_code": "21456"}},
        text="ACME: 30% off today. Opt out: STOP to 21456",
    )
    con = store.connect(db)
    con.execute(
        "INSERT INTO consent VALUES ('k1', ?, '21456', 'opt_out', 'inbound', 'STOP', ?)",
        [KE_NUMBER, datetime(2026, 11, 1)],
    )
    assert decision(check(spec, at="2026-11-24T10:00:00+03:00", con=con), KE_NUMBER)["reason"] == "opted_out"
    con.close()
