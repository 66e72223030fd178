"""Schema-2 rules in the check: a state's own window, frequency caps counted in the database,
required message elements, sender-ID formats and rules that start on a date. Every test runs on
small schema-2 files written here, so it means the same whatever the shipped dataset says."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
import yaml

from smslab import store
from smslab.compliance import check
from test_compliance_scenarios import decision, make_campaign

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIAMI, MANHATTAN = "+13055550123", "+12125550123"  # Florida (US-FL) and New York (no state rule here)
SOURCE = {"title": "t", "publisher": "p", "checked": "2026-12-01", "read_as": "test fixture"}


def every_day(window):
    return {d: [window] for d in DAYS}


def write_rules(folder, cc, name, zones, claims, subdivisions=None):
    sources = {
        "law": {**SOURCE, "url": "https://example.org/law/text", "kind": "law"},
        "prov": {**SOURCE, "url": "https://example.org/provider/page", "kind": "provider"},
    }
    data = {
        "schema": 2,
        "country": cc,
        "name": name,
        "time_zones": zones,
        "languages": ["en"],
        "sources": sources,
        "claims": [{"source": "law", "quote": "q", **c} for c in claims],
    }
    if subdivisions:
        data["subdivisions"] = subdivisions
    folder.mkdir(exist_ok=True)
    (folder / f"{cc}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))


SENDERS = [
    {"fact": f"senders.short_code.{f}", "value": v}
    for f, v in (
        ("available", True),
        ("marketing", True),
        ("transactional", True),
        ("two_way", True),
        ("registration", False),
    )
]


@pytest.fixture
def us_rules(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    write_rules(
        folder,
        "US",
        "United States",
        ["America/New_York", "America/Chicago"],
        [
            *SENDERS,
            {"fact": "quiet_hours.allowed", "value": every_day("08:00-21:00")},
            {"fact": "quiet_hours.holidays", "value": "allowed"},
            {"fact": "consent.marketing", "value": "required"},
            {
                "fact": "opt_out.wording",
                "value": {"required": True, "patterns": [r"\bSTOP\b"], "example": "Reply STOP"},
            },
            {"fact": "quiet_hours.allowed", "value": every_day("08:00-20:00"), "region": "US-FL"},
            {"fact": "caps", "value": {"max": 3, "period_hours": 24, "per": "brand"}, "region": "US-FL"},
            {
                "fact": "quiet_hours.allowed",
                "value": {**every_day("09:00-21:00"), "sun": ["12:00-21:00"]},
                "region": "US-TX",
                "effective_from": "2025-09-01",
            },
        ],
        subdivisions={"US-FL": {"name": "Florida"}, "US-TX": {"name": "Texas"}},
    )
    monkeypatch.setenv("SMSLAB_RULES_DIR", str(folder))
    return folder


def us_campaign(folder, name="four", numbers=(MIAMI, MANHATTAN)):
    folder.mkdir(exist_ok=True)
    return make_campaign(
        folder,
        [{"msisdn": n, "consent_at": "2024-01-01T00:00:00"} for n in numbers],
        name=name,
        senders={"US": {"type": "short_code", "id": "45678", "brand": "ACME"}},
        text="ACME: 30% off today. Reply STOP to opt out",
    )


def test_a_stricter_state_window_defers_where_the_federal_one_allows(tmp_path, us_rules):
    spec = us_campaign(tmp_path / "c")
    result = check(spec, at="2026-11-24T20:30:00-05:00")  # 20:30 in Miami and in New York
    assert decision(result, MANHATTAN)["decision"] == "allowed"
    miami = decision(result, MIAMI)
    assert (miami["decision"], miami["reason"]) == ("deferred", "quiet_hours")
    assert miami["next_allowed_at"] == pd.Timestamp("2026-11-25T13:00:00")  # 08:00 in Miami
    finding = next(f for f in result.findings if f["rule"] == "quiet_hours")
    assert "Florida" in finding["message"]


def test_a_state_rule_applies_from_its_start_date(tmp_path, us_rules):
    dallas = "+12145550123"  # Texas, America/Chicago
    spec = us_campaign(tmp_path / "c", numbers=(dallas,))
    assert decision(check(spec, at="2025-08-31T10:00:00-05:00"), dallas)["decision"] == "allowed"  # a Sunday, before
    assert decision(check(spec, at="2025-09-07T10:00:00-05:00"), dallas)["decision"] == "deferred"  # a Sunday, after


def prior_marketing(db, msisdns, count, *, brand="ACME", at=datetime(2026, 11, 24, 12, 0)):
    """`count` earlier campaigns of `brand`, each with a submitted message to every number."""
    con = store.connect(db)
    try:
        for i in range(count):
            cid = f"earlier-{brand}-{i}"
            spec = {"senders": {"US": {"type": "short_code", "id": "45678", "brand": brand}}}
            con.execute(
                "INSERT INTO campaigns VALUES (?, ?, 'marketing', false, ?, ?)", [cid, cid, json.dumps(spec), at]
            )
            for m in msisdns:
                con.execute(
                    "INSERT INTO messages (message_id, campaign_id, msisdn, region, sender_type, sender_id, "
                    "submitted_at, status) VALUES (?, ?, ?, 'US', 'short_code', '45678', ?, 'delivered')",
                    [f"{cid}-{m}", cid, m, at.replace(hour=12 + i)],
                )
    finally:
        con.close()


def test_the_fourth_message_in_24_hours_is_deferred_in_a_capped_state(tmp_path, us_rules):
    db = tmp_path / "caps.duckdb"
    prior_marketing(db, [MIAMI, MANHATTAN], 3)  # 12:00, 13:00, 14:00 UTC
    spec = us_campaign(tmp_path / "c")
    result = check(spec, at="2026-11-24T11:00:00-05:00", db=db)  # 16:00 UTC
    assert decision(result, MANHATTAN)["decision"] == "allowed"  # no cap in New York
    miami = decision(result, MIAMI)
    assert (miami["decision"], miami["reason"]) == ("deferred", "frequency_cap")
    assert miami["next_allowed_at"] == pd.Timestamp("2026-11-25T13:00:00")  # 24 h after the first, 08:00 local
    assert "at most 3" in next(f for f in result.findings if f["rule"] == "frequency_cap")["message"]


def test_the_cap_counts_the_same_brand_only_and_needs_a_database(tmp_path, us_rules):
    db = tmp_path / "caps.duckdb"
    prior_marketing(db, [MIAMI], 2)
    prior_marketing(db, [MIAMI], 1, brand="OTHER")
    spec = us_campaign(tmp_path / "c")
    assert decision(check(spec, at="2026-11-24T11:00:00-05:00", db=db), MIAMI)["decision"] == "allowed"
    without = check(spec, at="2026-11-24T11:00:00-05:00")
    assert "frequency_cap_not_checked" in {f["rule"] for f in without.findings if f["severity"] == "warn"}


def test_required_elements_and_sender_id_formats_block_with_the_rule_named(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    write_rules(
        folder,
        "KR",
        "Korea",
        ["Asia/Seoul"],
        [
            *[
                {"fact": f"senders.alphanumeric.{f}", "value": v}
                for f, v in (("available", True), ("marketing", True), ("transactional", True), ("two_way", False))
            ],
            {"fact": "quiet_hours.allowed", "value": every_day("08:00-21:00")},
            {"fact": "quiet_hours.holidays", "value": "allowed"},
            {
                "fact": "opt_out.wording",
                "value": {"required": True, "patterns": ["무료거부"], "example": "무료거부 080"},
            },
            {"fact": "message.required_elements", "value": [{"element": "ad_label", "pattern": r"^\(광고\)"}]},
            {"fact": "sender_id.alphanumeric", "value": {"prefix": "AD-", "max_length": 11}},
        ],
    )
    monkeypatch.setenv("SMSLAB_RULES_DIR", str(folder))
    number = "+821012345678"
    senders = {"KR": {"type": "alphanumeric", "id": "ACME", "two_way": False}}
    (tmp_path / "bad").mkdir()
    bad = make_campaign(
        tmp_path / "bad", [{"msisdn": number}], senders=senders, two_way=False, text="ACME 30% 할인 무료거부 080"
    )
    result = check(bad, at="2026-11-24T12:00:00+09:00")
    blocks = {f["rule"]: f for f in result.findings if f["severity"] == "block"}
    assert "ad label" in blocks["required_element_missing"]["message"]
    assert "must start with 'AD-'" in blocks["sender_id_format"]["message"]
    assert blocks["sender_id_format"]["source"] == "https://example.org/law/text"
    assert decision(result, number)["decision"] == "blocked"
    (tmp_path / "good").mkdir()
    good = make_campaign(
        tmp_path / "good",
        [{"msisdn": number}],
        two_way=False,
        senders={"KR": {"type": "alphanumeric", "id": "AD-ACME", "two_way": False}},
        text="(광고) ACME 30% 할인 무료거부 080",
    )
    assert decision(check(good, at="2026-11-24T12:00:00+09:00"), number)["decision"] == "allowed"


def test_opt_out_wording_rules_apply_to_their_sender_types(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    flags = (("available", True), ("marketing", True), ("transactional", True))
    write_rules(
        folder,
        "FR",
        "France",
        ["Europe/Paris"],
        [
            *[{"fact": f"senders.{t}.{f}", "value": v} for t in ("short_code", "alphanumeric") for f, v in flags],
            {"fact": "senders.short_code.two_way", "value": True},
            {"fact": "quiet_hours.allowed", "value": every_day("08:00-21:30")},
            {"fact": "quiet_hours.holidays", "value": "allowed"},
            {"fact": "opt_out.wording", "value": {"required": True, "patterns": [r"\bSTOP\b", r"https?://\S+"]}},
            {
                "fact": "opt_out.wording",
                "value": {
                    "required": True,
                    "patterns": [r"\bSTOP\b[^\n]{0,20}\b36\d{3}\b"],
                    "example": "STOP au 36180",
                },
                "sender_types": ["alphanumeric"],
            },
        ],
    )
    monkeypatch.setenv("SMSLAB_RULES_DIR", str(folder))
    number, text = "+33612345678", "ACME -30%. Désinscription: https://acme.example/stop"
    for kind, sender, expected in (
        ("sc", {"type": "short_code", "id": "36180"}, "allowed"),
        ("alpha", {"type": "alphanumeric", "id": "ACME", "two_way": False}, "blocked"),
    ):
        (tmp_path / kind).mkdir()
        spec = make_campaign(tmp_path / kind, [{"msisdn": number}], senders={"FR": sender}, text=text, two_way=False)
        result = check(spec, at="2026-11-24T12:00:00+01:00")
        assert decision(result, number)["decision"] == expected, kind
    blocked = next(f for f in result.findings if f["rule"] == "opt_out_wording_missing")
    assert "STOP au 36180" in blocked["message"] and "alphanumeric" in blocked["message"]
