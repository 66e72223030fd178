"""`rules.audit` and `smslab rules --audit`: sources per fact, single-source, stale and unknown facts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from smslab.errors import InputError
from smslab.rules import audit, load
from smslab.rules.audit import audit_text

V2 = Path(__file__).parent / "fixtures" / "rules_v2"


def _fr(day=date(2026, 12, 6)):
    return audit(load(directory=V2, at=day), "FR")[0]


def test_every_fact_in_force_with_its_sources_kinds_and_ages():
    report = _fr()
    facts = {f["fact"]: f for f in report["facts"] if f["region"] is None}
    lead = facts["senders.short_code.lead_time_weeks"]
    assert [s["key"] for s in lead["sources"]] == ["twilio-fr", "callr"]  # provider, newest check first
    assert [s["kind"] for s in lead["sources"]] == ["provider", "provider"]
    assert lead["sources"][1]["checked_age_days"] == (date(2026, 12, 6) - date(2025, 6, 1)).days
    assert lead["value"] == 17.4
    law = facts["penalties"]["sources"][0]
    assert law["kind"] == "law" and law["published_age_days"] == (date(2026, 12, 6) - date(2012, 4, 1)).days
    assert facts["quiet_hours.allowed"]["value"]["sun"] == []


def test_single_source_stale_and_unknown():
    report = _fr()
    assert "consent.marketing" in report["single_source"] and "quiet_hours.allowed" not in report["single_source"]
    assert report["stale"] == [
        "content.restricted",
        "opt_out.alphanumeric_needs_short_code",
        "quiet_hours.excluded_days",
    ]
    assert "limits.max_segments" in report["unknown"] and "senders.toll_free.available" in report["unknown"]
    assert "quiet_hours.allowed" not in report["unknown"]


def test_claims_not_in_force_are_not_audited():
    before = {f["fact"] for f in _fr(date(2025, 6, 1))["facts"]}
    assert "caps" not in before and "caps" in _fr(date(2025, 6, 1))["unknown"]


def test_regional_facts_are_labelled():
    us = audit(load(directory=V2), "US")[0]
    assert "US-FL:caps" in us["single_source"]
    assert any(f["region"] == "US-FL" and f["fact"] == "quiet_hours.allowed" for f in us["facts"])


def test_unknown_country_and_schema_1():
    with pytest.raises(InputError, match="no rules for country 'ZZ'"):
        audit(load(directory=V2), "ZZ")
    assert "schema 1" in audit(load(), "FR")[0]["note"]


def test_text_and_cli():
    text = audit_text([_fr()])
    assert "senders.short_code.lead_time_weeks: twilio-fr (provider, checked 0d ago), callr (provider, " in text
    assert "single source (12): caps, consent.form" in text and "unknown (no claim) (38): " in text
    run = subprocess.run(
        [sys.executable, "-m", "smslab", "rules", "--audit", "US", "--json", "--dir", str(V2), "--at", "2026-12-06"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)[0]
    assert report["country"] == "US" and report["day"] == "2026-12-06" and "US-FL:caps" in report["single_source"]
    run = subprocess.run(
        [sys.executable, "-m", "smslab", "rules", "--audit", "--dir", str(V2), "--at", "2026-12-06"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and "FR  France (schema 2" in run.stdout
    assert "US-FL:quiet_hours.allowed: ftsa (law" in run.stdout
