"""The shipped dataset (data/rules): 60 countries, every claim sourced at a specific page with a
kind and a checked date, and the facts the 2026-12-06 audit corrected (shared/reference/rules-audit.md)."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest

from smslab.rules import load
from smslab.rules.claims import parse_file
from smslab.rules.loader import rules_dir
from smslab.yamlfiles import read_yaml

SIXTY = [
    "US",
    "CA",
    "GB",
    "FR",
    "DE",
    "ES",
    "IT",
    "NL",
    "IN",
    "KE",
    "NG",
    "ZA",
    "BR",
    "MX",
    "AU",
    "JP",
    "CN",
    "SG",
    "AE",
    "SA",
    "PH",
    "ID",
    "TR",
    "PL",
    "IE",
    "SE",
    "CO",
    "AR",
    "EG",
    "MA",
    "PK",
    "BD",
    "VN",
    "TH",
    "MY",
    "KR",
    "TW",
    "HK",
    "NZ",
    "PT",
    "BE",
    "CH",
    "AT",
    "CZ",
    "RO",
    "GR",
    "HU",
    "DK",
    "NO",
    "IL",
    "QA",
    "KW",
    "GH",
    "TZ",
    "UG",
    "CI",
    "CL",
    "PE",
    "EC",
    "DO",
]
KINDS = {"law", "regulator", "operator", "industry", "provider", "vendor"}
DAY = date(2026, 12, 6)


@pytest.fixture
def rules(real_rules):
    return load().at(DAY)


def load_rules_file(path):
    return parse_file(read_yaml(path, what="rules file"), str(path), cc=path.stem)


def test_sixty_countries_all_schema_2(real_rules):
    files = sorted(p for p in rules_dir().glob("*.yaml") if re.fullmatch(r"[A-Z]{2}", p.stem))
    assert {p.stem for p in files} == set(SIXTY)
    assert all(load_rules_file(path).schema_ == 2 for path in files)


@pytest.mark.parametrize("cc", SIXTY)
def test_every_claim_is_sourced_at_a_specific_page(real_rules, cc):
    parsed = load_rules_file(rules_dir() / f"{cc}.yaml")
    assert parsed.claims, cc
    for key, source in parsed.sources.items():
        url = urlparse(source.url)
        assert url.scheme in ("http", "https") and url.netloc, (cc, key)
        assert url.path.strip("/") or url.query, f"{cc} {key}: bare domain {source.url}"
        assert source.kind in KINDS and source.checked <= DAY and source.read_as, (cc, key)
    # nor anywhere else in the file (a claim's value or quote): every web address a reader sees is a page
    text = (rules_dir() / f"{cc}.yaml").read_text(encoding="utf-8")
    bare = re.findall(r"(?:https?://|www\.)[a-z0-9.-]+\.[a-z]{2,}/?(?=[\s\"',);]|$)", text, re.I | re.M)
    assert not bare, f"{cc}: bare domains {bare}"
    for value in (claim.value for claim in parsed.claims if isinstance(claim.value, str)):
        assert not re.search(r"\b[a-z0-9-]+\.(?:gob|gov|go|org|com|net)(?:\.[a-z]{2})?\b", value, re.I), (cc, value)
    used = {claim.source for claim in parsed.claims}
    assert used <= set(parsed.sources), cc
    for claim in parsed.claims:
        assert claim.quote.strip(), (cc, claim.fact)


@pytest.mark.parametrize("cc", SIXTY)
def test_time_zones_exist_and_unknowns_stay_unknown(rules, cc):
    country = rules.country(cc)
    for zone in country.time_zones:
        ZoneInfo(zone)
    # a fact no claim supports is None (unknown), never a made-up default
    for fact, keys in country.provenance.items():
        assert keys, (cc, fact)
    for sender_type, sender in country.senders.items():
        if not any(f.startswith(f"senders.{sender_type}.marketing") for f in country.provenance):
            assert sender.marketing is None, (cc, sender_type)


# -- facts the audit corrected -----------------------------------------------------------------


def test_fr_alphanumeric_needs_a_36xxx_number_and_long_codes_carry_no_marketing(rules):
    fr = rules.country("FR")
    assert fr.opt_out.alphanumeric_needs_short_code is True
    assert fr.senders["long_code"].marketing is False


def test_fr_fine_is_a_ceiling_per_message(rules):
    per = rules.country("FR").penalties.per_message
    assert (per.min, per.max, per.currency) == (0.0, 750.0, "EUR")


def test_fr_saturday_is_not_banned_and_sundays_and_holidays_are(rules):
    fr = rules.country("FR")
    assert fr.quiet_hours.allowed["sat"] and fr.quiet_hours.allowed["sun"] == []
    assert fr.quiet_hours.holidays == "excluded"


def test_fr_charters_apply_by_date(real_rules):
    assert "af2m-2026" in load().at(date(2026, 12, 6)).country("FR").provenance["quiet_hours.allowed"]
    assert "af2m-2024" not in load().at(date(2026, 12, 6)).country("FR").provenance["quiet_hours.allowed"]
    assert "af2m-2024" in load().at(date(2025, 6, 1)).country("FR").provenance["quiet_hours.allowed"]


def test_us_revocation_keywords_from_april_2025(real_rules):
    assert {"REVOKE", "OPT OUT"} <= set(load().at(date(2026, 12, 6)).country("US").opt_out.keywords)
    assert "REVOKE" not in load().at(date(2025, 1, 1)).country("US").opt_out.keywords
    assert load().at(date(2026, 12, 6)).country("US").opt_out.deadline_days == 10


def test_us_dnc_registry_lead_times_and_shaft_as_restrictions(rules):
    us = rules.country("US")
    assert "Do-Not-Call" in us.consent.dnd_registry
    assert {"alcohol", "firearms"} <= set(us.content.restricted)
    assert not {"alcohol", "firearms"} & set(us.content.banned)
    assert us.senders["long_code"].lead_time_weeks and us.senders["toll_free"].lead_time_weeks


def test_us_state_rules(rules, real_rules):
    us = rules.country("US")
    fl = us.subdivisions["US-FL"]
    assert fl.quiet_hours.allowed["mon"] == ["08:00-20:00"]
    assert [(c.max, c.period_hours) for c in fl.caps] == [(3, 24.0)]
    assert us.subdivisions["US-TX"].quiet_hours.allowed["sun"] == ["12:00-21:00"]
    assert load().at(date(2025, 6, 1)).country("US").subdivisions["US-TX"].quiet_hours.allowed["sun"] != ["12:00-21:00"]


def test_ke_safaricom_rules(rules):
    ke = rules.country("KE")
    assert ke.quiet_hours.allowed["mon"] == ["08:00-18:00"]
    assert re.search(ke.opt_out.wording_pattern, "Opt out: STOP*456*9*5#")
    assert not re.search(ke.opt_out.wording_pattern, "Opt out: STOP to 21456")
    assert "contests" in ke.content.banned


def test_de_consent_and_opt_out_notice(rules):
    de = rules.country("DE")
    assert de.consent.marketing == "required" and de.consent.existing_customer_exception is True
    assert "opt_out" in {r.element for r in de.required_elements}


def test_provider_policy_is_not_law(rules):
    # GB and AU windows rest on provider pages only: the audit asked to say what they are
    for cc in ("GB", "AU"):
        country = rules.country(cc)
        kinds = {country.sources[k].kind for k in country.provenance["quiet_hours.allowed"]}
        assert kinds == {"provider"}, cc


def test_au_short_codes_exist_although_twilio_does_not_offer_them(rules):
    au = rules.country("AU").senders["short_code"]
    assert au.available is True and au.offered.get("Twilio") is False


def test_za_cpa_window(rules):
    za = rules.country("ZA")
    assert za.quiet_hours.allowed["mon"] == ["08:00-20:00"] and za.quiet_hours.allowed["sat"] == ["09:00-13:00"]
    assert za.quiet_hours.allowed["sun"] == [] and za.quiet_hours.holidays == "excluded"


def test_ca_casl_penalties(rules):
    assert max(p.max for p in rules.country("CA").penalties.items if p.currency == "CAD") == 10_000_000


def test_the_summary_in_the_docs_matches_the_data(rules):
    from smslab.config import project_dir
    from smslab.rules.export import summary_table

    doc = (project_dir() / "docs" / "rules.md").read_text(encoding="utf-8")
    shown = doc.split("<!-- summary-table:start -->\n", 1)[1].split("\n<!-- summary-table:end -->", 1)[0]
    assert shown == summary_table(rules), "regenerate the table in docs/rules.md with rules.export.summary_table"


def test_ke_separate_promotional_sender_ids_and_us_registration_lead_times(rules):
    assert any(r.separate_promotional for r in rules.country("KE").sender_id_rules)
    us = rules.country("US").senders
    assert (us["long_code"].lead_time_weeks, us["toll_free"].lead_time_weeks) == (2.0, 2.8)  # 10DLC, toll-free
    assert us["long_code"].registration is True and us["alphanumeric"].available is False
