"""The dataset itself: every country complete, sourced and dated; unknowns explicit."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from smslab.rules import DAYS, SENDER_TYPES, load, rules_dir
from smslab.rules.schema import Country

REQUIRED = ["US", "CA", "GB", "FR", "DE", "ES", "IT", "NL", "IN", "KE", "NG", "ZA", "BR", "MX", "AU", "JP", "CN",
            "SG", "AE", "SA", "PH", "ID", "TR", "PL", "IE", "SE", "CO", "AR", "EG", "MA"]
FILES = sorted(p for p in rules_dir().glob("*.yaml") if re.fullmatch(r"[A-Z]{2}", p.stem))


def test_thirty_countries_at_least():
    assert set(REQUIRED) <= set(load().countries())
    assert len(FILES) >= 30


def _missing(model_fields: dict, data: dict, where: str) -> list[str]:
    """Fields a schema-1 file must spell out (those schema 2 added have defaults)."""
    return [f"{where}.{name}" for name, info in model_fields.items() if info.is_required() and name not in data]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_field_present_or_explicitly_unknown(path: Path):
    """Read the raw YAML (not the model): a missing key is a gap, `null` is an explicit unknown."""
    from smslab.rules import schema

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    gaps = _missing(schema.Country.model_fields, raw, "")
    for sender_type in SENDER_TYPES:
        gaps += _missing(schema.SenderRules.model_fields, raw["senders"].get(sender_type, {}), f"senders.{sender_type}")
    for group, model in [("quiet_hours", schema.QuietHours), ("consent", schema.Consent), ("opt_out", schema.OptOut),
                         ("content", schema.Content), ("limits", schema.Limits), ("penalties", schema.Penalties)]:
        gaps += _missing(model.model_fields, raw[group], group)
    assert not gaps, f"{path.name}: missing {gaps}"
    if raw["quiet_hours"]["allowed"] is not None:
        assert set(raw["quiet_hours"]["allowed"]) == set(DAYS)


@pytest.mark.parametrize("cc", REQUIRED)
def test_sources_and_checked_dates(cc):
    country = load().country(cc)
    assert country.sources, cc
    assert country.checked <= date(2026, 11, 24)
    for key, source in country.sources.items():
        assert source.url.startswith("https://"), (cc, key)
        assert source.checked <= date(2026, 11, 24)
    # every group of facts that states something names at least one source
    groups = {f"senders.{t}": country.senders[t] for t in SENDER_TYPES}
    groups.update({g: getattr(country, g) for g in ("quiet_hours", "consent", "opt_out", "content")})
    for name, group in groups.items():
        stated = [v for k, v in group.model_dump().items()
                  if k not in ("sources", "notes", "alternatives", "basis", "applies_to", "alphanumeric_needs_short_code")
                  and v not in (None, [], {})]
        if stated:
            assert group.sources, f"{cc} {name} states facts without a source"


@pytest.mark.parametrize("cc", REQUIRED)
def test_time_zones_exist(cc):
    for zone in load().country(cc).time_zones:
        ZoneInfo(zone)


def test_alphanumeric_is_never_two_way_in_the_data():
    rs = load()
    for cc in rs.countries():
        assert rs.country(cc).senders["alphanumeric"].two_way is not True, cc


def test_reference_facts_survive():
    """A few facts from the reference, including most-restrictive choices where sources disagree."""
    rs = load()
    fr = rs.country("FR").quiet_hours
    assert fr.allowed["mon"] == ["08:00-20:30"] and fr.allowed["sun"] == [] and fr.holidays == "excluded"
    assert {a.source for a in fr.alternatives} >= {"T", "I", "B", "ESX"}          # the others are kept
    assert rs.country("KE").quiet_hours.allowed["wed"] == ["08:00-18:00"]          # Safaricom, not the 2020 draft
    assert rs.country("IN").quiet_hours.allowed["wed"] == ["10:00-21:00"]          # not Exotel's 09:00
    assert rs.country("IN").senders["long_code"].marketing is False
    assert rs.country("US").penalties.per_message.min == 500
    assert rs.country("US").penalties.per_message.max == 1500
    assert rs.country("US").senders["short_code"].lead_time_weeks == 12            # 8-12 weeks beats 6-10
    assert rs.country("ZA").quiet_hours.allowed["sat"] == ["09:00-13:00"]
    assert rs.country("EG").quiet_hours.allowed["fri"] == [] and rs.country("EG").quiet_hours.allowed["sun"] != []
    assert rs.country("KE").opt_out.alphanumeric_needs_short_code is True
    assert rs.country("ES").quiet_hours.allowed is None                             # unknown stays unknown
    assert "gambling" in rs.country("KE").content.banned                            # [I]'s "allowed" kept aside


def test_schema_file_matches_the_model():
    on_disk = json.loads((rules_dir() / "schema.json").read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(Country.model_json_schema()))
