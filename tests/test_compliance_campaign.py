"""Campaign-level rules, time zones, exposure, the CLI and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from smslab.compliance import check
from smslab.compliance.content import detect
from smslab.errors import InputError, SpecError
from test_compliance_scenarios import FR_NUMBER, decision, make_campaign, rules_of

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
TUESDAY_NOON_PARIS = "2026-11-24T12:00:00+01:00"


def frame(rows: list[dict]) -> pd.DataFrame:
    """An audience frame as smslab.audience.load returns it (for zone-level control)."""
    out = pd.DataFrame(rows)
    out["valid"] = True
    out["consent_at"] = pd.Timestamp("2026-01-01")
    return out


# -- opt-out wording, content, segments, variants ------------------------------------------------


def test_france_marketing_without_stop_wording_blocks(tmp_path):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}], text="ACME: -30% aujourd'hui seulement !")
    result = check(spec, at=TUESDAY_NOON_PARIS)
    finding = next(f for f in result.findings if f["rule"] == "opt_out_wording_missing")
    assert finding["severity"] == "block" and finding["country"] == "FR" and "STOP au 36180" in finding["message"]
    assert result.blocking and decision(result, FR_NUMBER)["decision"] == "blocked"


@pytest.mark.parametrize("text", ["Soldes ! STOP au 36180", "Soldes ! STOP 36180", "Soldes ! Stop SMS au 36111"])
def test_france_stop_wording_variants_pass(tmp_path, text):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}], text=text)
    assert "opt_out_wording_missing" not in rules_of(check(spec, at=TUESDAY_NOON_PARIS))


def test_only_the_variant_without_wording_is_blocked(tmp_path):
    numbers = [f"+336123456{i:02d}" for i in range(40)]
    spec = make_campaign(
        tmp_path, [{"msisdn": m} for m in numbers], variants={"B": "ACME: -30% aujourd'hui"}
    )  # B lacks the STOP wording
    result = check(spec, at=TUESDAY_NOON_PARIS)
    from smslab.campaign import load_spec

    loaded = load_spec(spec)
    for m in numbers:
        expected = "blocked" if loaded.variant_for(m) == "B" else "allowed"
        assert decision(result, m)["decision"] == expected
    finding = next(f for f in result.findings if f["rule"] == "opt_out_wording_missing")
    assert "variant B" in finding["message"]
    assert finding["recipients"] == sum(loaded.variant_for(m) == "B" for m in numbers)


def test_banned_content_blocks_in_the_country_language(tmp_path):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}], text="Paris sportifs : 10€ offerts ! STOP au 36180")
    result = check(spec, at=TUESDAY_NOON_PARIS)
    finding = next(f for f in result.findings if f["rule"] == "content_banned")
    assert finding["severity"] == "block" and "gambling" in finding["message"]
    assert decision(result, FR_NUMBER)["reason"] == "content_banned"


def test_restricted_content_warns_and_declared_tags_count(tmp_path):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+4915112345678"}],
        senders={"DE": {"type": "long_code", "id": "4915799900123"}},
        text="ACME: heute 30% Rabatt. Abmelden: STOP",
        extra={"content_tags": ["gambling"]},
    )
    result = check(spec, at=TUESDAY_NOON_PARIS)
    finding = next(f for f in result.findings if f["rule"] == "content_restricted")
    assert finding["severity"] == "warn" and finding["country"] == "DE"
    assert not result.blocking


def test_transactional_content_bans_still_apply(tmp_path):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": FR_NUMBER}],
        purpose="transactional",
        two_way=False,
        senders={"FR": {"type": "alphanumeric", "id": "ACME"}},
        text="Votre pari sportif est validé",
    )
    assert "content_banned" in rules_of(check(spec, at=TUESDAY_NOON_PARIS))


@pytest.mark.parametrize(
    "text,languages,category",
    [
        ("Apuesta hoy en nuestro casino", ["es"], "gambling"),
        ("Empréstimo consignado aprovado", ["pt"], "loans"),
        ("Pata mkopo leo", ["sw"], "loans"),
        ("Bira ve şarap indirimde", ["tr"], "alcohol"),
        ("啤酒买一送一", ["zh"], "alcohol"),
        ("Vote for Jane Doe on Tuesday", ["en"], "political"),
        ("Our new CBD oil is here", ["en"], "cannabis"),
        ("Details: bit.ly/abc", ["en"], "url_shortener"),
    ],
)
def test_content_detection_is_multilingual(text, languages, category):
    assert category in detect(text, languages)


@pytest.mark.parametrize(
    "text,languages",
    [
        ("ACME Black Friday: -30% aujourd'hui. STOP au 36180", ["fr"]),
        ("Your order 1234 has shipped", ["en"]),
        ("Betterave et vinaigrette", ["fr"]),
        ("Wählen Sie Ihre Größe: 30% Rabatt auf alles", ["de"]),
        ("Nuova collezione messa in vendita oggi", ["it"]),
        ("Opt out: STOP*456*9*5#", ["sw"]),
    ],
)
def test_content_detection_leaves_ordinary_texts_alone(text, languages):
    assert detect(text, languages) == {}


def test_segments_over_the_country_limit_warn(tmp_path):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+639171234567"}],
        senders={"PH": {"type": "short_code", "id": "2910"}},
        text="ACME news. " * 60,
    )  # 660 GSM-7 characters: 5 segments; PH allows 3
    result = check(spec, at="2026-11-24T12:00:00+08:00")
    finding = next(f for f in result.findings if f["rule"] == "segments_over_limit")
    assert finding["severity"] == "warn" and "5 GSM-7 segments" in finding["message"]


def test_registration_lead_time_against_send_at(tmp_path):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+12125550123"}],
        senders={"US": {"type": "short_code", "id": "45678"}},
        text="ACME: 30% off. Reply STOP to opt out.",
        extra={"send_at": "2030-01-15T15:00:00+00:00"},
    )
    far = check(spec)  # send_at is years ahead: it is the evaluation moment, and 12 weeks fit
    assert far.evaluated_at == pd.Timestamp("2030-01-15 15:00").to_pydatetime()
    assert {(f["rule"], f["severity"]) for f in far.findings} >= {("registration_lead_time", "info")}
    near = check(spec, at="2026-11-24T15:00:00+00:00")
    assert ("registration_lead_time", "warn") in {(f["rule"], f["severity"]) for f in near.findings}


# -- time zones ------------------------------------------------------------------------------


def test_a_number_in_two_zones_must_be_allowed_in_both(tmp_path):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+12125550123"}],
        senders={"US": {"type": "short_code", "id": "45678"}},
        text="ACME: 30% off. Reply STOP to opt out.",
    )
    two = frame([{"msisdn": "+12125550123", "region": "US", "time_zones": ["America/New_York", "America/Los_Angeles"]}])
    # 09:00 New York, 06:00 Los Angeles: deferred until 08:00 in Los Angeles (11:00 in New York)
    row = decision(check(spec, at="2026-11-24T14:00:00Z", audience=two), "+12125550123")
    assert row["decision"] == "deferred" and row["next_allowed_at"] == pd.Timestamp("2026-11-24 16:00")
    # 19:30 New York, 16:30 Los Angeles: allowed in both
    assert decision(check(spec, at="2026-11-25T00:30:00Z", audience=two), "+12125550123")["decision"] == "allowed"
    # 20:30 New York: New York opens at 08:00 (13:00 UTC) but Los Angeles only at 16:00 UTC
    row = decision(check(spec, at="2026-11-25T01:30:00Z", audience=two), "+12125550123")
    assert row["next_allowed_at"] == pd.Timestamp("2026-11-25 16:00")


def test_a_number_without_zone_uses_every_zone_of_its_country(tmp_path):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+12125550123"}],
        senders={"US": {"type": "short_code", "id": "45678"}},
        text="ACME: 30% off. Reply STOP to opt out.",
    )
    unknown = frame([{"msisdn": "+12125550123", "region": "US", "time_zones": []}])
    row = decision(check(spec, at="2026-11-24T14:00:00Z", audience=unknown), "+12125550123")
    # 08:00 in Honolulu (the last US zone to open) is 18:00 UTC
    assert row["decision"] == "deferred" and row["next_allowed_at"] == pd.Timestamp("2026-11-24 18:00")


def test_unknown_country_and_missing_sender_are_blocked(tmp_path):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}])
    audience = frame(
        [
            {"msisdn": FR_NUMBER, "region": "FR", "time_zones": ["Europe/Paris"]},
            {"msisdn": "+37012345678", "region": "LT", "time_zones": ["Europe/Vilnius"]},
            {"msisdn": "+447700900123", "region": "GB", "time_zones": ["Europe/London"]},
            {"msisdn": "+88299912345", "region": None, "time_zones": []},
        ]
    )
    result = check(spec, at=TUESDAY_NOON_PARIS, audience=audience)
    assert decision(result, "+88299912345")["reason"] == "no_rules"
    assert pd.isna(decision(result, "+88299912345")["region"])
    unknown = [f for f in result.findings if f["rule"] == "no_rules"]
    assert sorted((f["country"] or "", f["recipients"]) for f in unknown) == [("", 1), ("LT", 1)]
    assert decision(result, "+37012345678")["reason"] == "no_rules"
    assert decision(result, "+447700900123")["reason"] == "no_sender"
    assert decision(result, FR_NUMBER)["decision"] == "allowed"


def test_spec_rules_override_applies(tmp_path):
    spec = make_campaign(
        tmp_path, [{"msisdn": FR_NUMBER}], extra={"rules": str(FIXTURES / "override_fr_saturday.yaml")}
    )
    saturday = "2026-11-28T11:00:00+01:00"
    assert decision(check(spec, at=saturday), FR_NUMBER)["decision"] == "allowed"
    (tmp_path / "plain").mkdir()
    plain = make_campaign(tmp_path / "plain", [{"msisdn": FR_NUMBER}])
    assert decision(check(plain, at=saturday), FR_NUMBER)["decision"] == "deferred"


# -- fine exposure -----------------------------------------------------------------------------


def test_fine_exposure_of_what_was_stopped(tmp_path):
    spec = make_campaign(
        tmp_path,
        [
            {"msisdn": "+12125550123", "consent_at": ""},
            {"msisdn": "+12125550124", "consent_at": ""},
            {"msisdn": "+12125550125", "consent_at": "2026-01-01T00:00:00"},
        ],
        senders={"US": {"type": "short_code", "id": "45678"}},
        text="ACME: 30% off. Reply STOP to opt out.",
    )
    result = check(spec, at="2026-11-24T15:00:00Z")  # 10:00 in New York: only consent stops anything
    assert result.exposure == [
        {
            "country": "US",
            "messages": 2,
            "min": 1000,
            "max": 3000,
            "currency": "USD",
            "basis": result.exposure[0]["basis"],
            "source": result.exposure[0]["source"],
        }
    ]
    finding = next(f for f in result.findings if f["rule"] == "fine_exposure")
    assert "1,000 USD" in finding["message"] and "3,000 USD" in finding["message"]


# -- the CLI and bad input ----------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smslab", *args], capture_output=True, text=True)


def test_cli_check_json_and_exit_codes(tmp_path):
    db = str(tmp_path / "cli.duckdb")
    ok = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}])
    proc = run_cli("check", str(ok), "--at", TUESDAY_NOON_PARIS, "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"blocking", "recipients", "findings"}
    assert data["recipients"] == {"total": 1, "allowed": 1, "deferred": 0, "blocked": 0}
    for f in data["findings"]:
        assert set(f) == {"rule", "severity", "country", "recipients", "message", "source"}
    bad = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}], text="Soldes sans mention")
    proc = run_cli("check", str(bad), "--at", TUESDAY_NOON_PARIS, "--db", db, "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["blocking"] is True


@pytest.mark.parametrize("at", ["yesterday", "2026-11-24T12:00:00"])
def test_bad_at_is_a_clear_error(tmp_path, at):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}])
    with pytest.raises(InputError, match="--at"):
        check(spec, at=at)
    proc = run_cli("check", str(spec), "--at", at, "--db", str(tmp_path / "x.duckdb"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--at" in proc.stderr


def test_invalid_spec_is_a_spec_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\npurpose: shouting\naudience: a.csv\nsenders: {}\nmessage: {text: hi}\n")
    with pytest.raises(SpecError, match="purpose"):
        check(path)


def test_broken_override_named_by_the_spec_is_one_clear_error(tmp_path):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}], extra={"rules": str(FIXTURES / "broken_type.yaml")})
    proc = run_cli("check", str(spec), "--db", str(tmp_path / "x.duckdb"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "senders.short_code.lead_time_weeks" in proc.stderr


def test_holiday_with_unknown_holiday_rule_is_excluded_and_said(tmp_path):
    # a rule that does not say whether holidays count: they are excluded (fail closed), with a warning;
    # 12 December 2026 (a Saturday) is Jamhuri Day in Kenya
    override = tmp_path / "rules.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "countries": {
                    "KE": {
                        "quiet_hours": {
                            "allowed": {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                            "sundays_excluded": False,
                            "holidays": None,
                        }
                    }
                }
            }
        )
    )
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+254712345678"}],
        two_way=False,
        senders={"KE": {"type": "alphanumeric", "id": "ACME", "opt_out_short_code": "21456"}},
        text="ACME: 30% off today. Opt out: STOP to 21456",
        extra={"rules": str(override)},
    )
    result = check(spec, at="2026-12-12T10:00:00+03:00")
    row = decision(result, "+254712345678")
    assert (row["decision"], row["reason"]) == ("deferred", "public_holiday")
    assert row["next_allowed_at"] == pd.Timestamp("2026-12-13T05:00:00")  # Sunday 08:00 in Nairobi
    note = next(f for f in result.findings if f["rule"] == "holiday_rule_unknown")
    assert note["severity"] == "warn" and "excluded" in note["message"] and "override" in note["message"]
    assert decision(check(spec, at="2026-12-11T10:00:00+03:00"), "+254712345678")["decision"] == "allowed"


def test_every_blocking_finding_counts_the_recipients_it_affects(tmp_path):
    # a long code cannot carry A2P in France, and the text lacks the STOP wording: two blocks, same people
    spec = make_campaign(
        tmp_path,
        [{"msisdn": FR_NUMBER}, {"msisdn": "+33698765432"}],
        senders={"FR": {"type": "long_code", "id": "33700000000"}},
        text="Soldes !",
    )
    result = check(spec, at=TUESDAY_NOON_PARIS)
    counts = {f["rule"]: f["recipients"] for f in result.findings if f["severity"] == "block"}
    assert counts == {"sender_type_not_allowed": 2, "opt_out_wording_missing": 2, "nothing_to_send": 2}
    assert set(result.decisions["decision"]) == {"blocked"}


def test_unusable_database_is_a_clear_error(tmp_path):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}])
    not_a_db = tmp_path / "notes.duckdb"
    not_a_db.write_text("this is not a database")
    with pytest.raises(InputError, match="notes.duckdb: is not a DuckDB database file"):
        check(spec, at=TUESDAY_NOON_PARIS, db=not_a_db)


@pytest.mark.parametrize(
    "text,found",
    [
        ("Call +44 7700 900123 today", True),
        ("Appelez le 01 23 45 67 89", True),
        ("Sale ends 2026-11-30 10:00", False),
        ("Your code: 482913", False),
        ("Opt out: STOP*456*9*5#", False),
    ],
)
def test_phone_numbers_in_text(text, found):
    assert ("phone_numbers" in detect(text, ["en", "fr"])) is found


def test_unknown_content_tag_is_reported(tmp_path):
    spec = make_campaign(tmp_path, [{"msisdn": FR_NUMBER}], extra={"content_tags": ["gamblin"]})
    finding = next(f for f in check(spec, at=TUESDAY_NOON_PARIS).findings if f["rule"] == "content_tag_unknown")
    assert finding["severity"] == "warn" and "'gamblin'" in finding["message"]
