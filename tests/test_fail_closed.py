"""Fail closed everywhere: unknown rules get the conservative default, an opt-out counts in any
spelling of our number, a past send_at and a campaign with nobody to send to are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import duckdb
import pandas as pd
import pytest
import yaml

from smslab import identity, store
from smslab.compliance import check
from smslab.receiving.file_ingest import ingest
from smslab.sending import send
from test_compliance_scenarios import decision, make_campaign

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MADRID = "+34912345678"  # a Madrid number: one time zone (a Spanish mobile may be in the Canaries too)
TUESDAY = datetime(2026, 11, 24, 11, 0)  # UTC; 12:00 in Madrid and Paris, 11:00 in London


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smslab", *args], capture_output=True, text=True)


def unknown_quiet_hours(tmp_path, cc: str) -> str:
    """An override that makes a country's window and holiday rule unknown, whatever the dataset says."""
    path = tmp_path / f"unknown-{cc}.yaml"
    path.write_text(
        yaml.safe_dump(
            {"countries": {cc: {"quiet_hours": {"allowed": None, "sundays_excluded": None, "holidays": None}}}}
        )
    )
    return str(path)


def spanish_campaign(tmp_path):
    return make_campaign(
        tmp_path,
        [{"msisdn": MADRID}],
        senders={"ES": {"type": "long_code", "id": "34600900123"}},
        text="ACME: 30% de descuento hoy. Baja: responde BAJA",
        extra={"rules": unknown_quiet_hours(tmp_path, "ES")},
    )


# -- an unknown window is the conservative default, not "no rule" ------------------------------


@pytest.mark.parametrize(
    "at,expected,next_at",
    [
        ("2026-11-24T03:00:00+01:00", "deferred", "2026-11-24T08:00:00"),  # Tuesday 03:00 → 09:00 Madrid
        ("2026-11-24T11:00:00+01:00", "allowed", None),  # Tuesday 11:00
        ("2026-11-24T19:59:00+01:00", "allowed", None),
        ("2026-11-24T20:00:00+01:00", "deferred", "2026-11-25T08:00:00"),  # the default ends at 20:00
        ("2026-11-28T11:00:00+01:00", "deferred", "2026-11-30T08:00:00"),  # Saturday → Monday 09:00
    ],
)
def test_unknown_window_applies_the_conservative_default(tmp_path, at, expected, next_at):
    result = check(spanish_campaign(tmp_path), at=at)
    row = decision(result, MADRID)
    assert row["decision"] == expected, row["reason"]
    if next_at:
        assert row["reason"] == "quiet_hours" and row["next_allowed_at"] == pd.Timestamp(next_at)
    warning = next(f for f in result.findings if f["rule"] == "quiet_hours_unknown")
    assert warning["severity"] == "warn"
    assert "Mon-Fri 09:00-20:00" in warning["message"] and "override" in warning["message"]


def test_unknown_holiday_rule_excludes_public_holidays(tmp_path):
    # 8 December 2026 (a Tuesday) is the Immaculate Conception, a national holiday in Spain
    result = check(spanish_campaign(tmp_path), at="2026-12-08T11:00:00+01:00")
    row = decision(result, MADRID)
    assert (row["decision"], row["reason"]) == ("deferred", "public_holiday")
    assert row["next_allowed_at"] == pd.Timestamp("2026-12-09T08:00:00")
    assert "holiday_rule_unknown" in {f["rule"] for f in result.findings if f["severity"] == "warn"}


def test_an_override_replaces_the_default(tmp_path):
    override = tmp_path / "es.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "countries": {
                    "ES": {
                        "quiet_hours": {
                            "allowed": {d: ["00:00-24:00"] for d in DAYS},
                            "sundays_excluded": False,
                            "holidays": "allowed",
                        }
                    }
                }
            }
        )
    )
    spec = make_campaign(
        tmp_path,
        [{"msisdn": MADRID}],
        senders={"ES": {"type": "long_code", "id": "34600900123"}},
        text="ACME: Baja: responde BAJA",
        extra={"rules": str(override)},
    )
    result = check(spec, at="2026-11-28T03:00:00+01:00")
    assert decision(result, MADRID)["decision"] == "allowed"
    assert not {"quiet_hours_unknown", "holiday_rule_unknown"} & {f["rule"] for f in result.findings}


def test_missing_holiday_calendar_is_a_warning_and_nothing_on_stderr(tmp_path):
    # the holidays package has no calendar for 2150: said in a finding, no library warning
    spec = spanish_campaign(tmp_path)
    proc = run_cli(
        "check", str(spec), "--at", "2150-11-24T11:00:00+01:00", "--json", "--db", str(tmp_path / "x.duckdb")
    )
    assert proc.stderr == "", proc.stderr
    findings = {f["rule"]: f for f in json.loads(proc.stdout)["findings"]}
    assert findings["holiday_calendar_missing"]["severity"] == "warn"
    assert "2150" in findings["holiday_calendar_missing"]["message"]


def test_unknown_opt_out_wording_requires_an_instruction(tmp_path):
    override = tmp_path / "rules.yaml"
    override.write_text(
        yaml.safe_dump({"countries": {"ES": {"opt_out": {"wording_required": None, "wording_pattern": None}}}})
    )
    senders = {"ES": {"type": "long_code", "id": "34600900123"}}
    bare = make_campaign(
        tmp_path, [{"msisdn": MADRID}], senders=senders, text="ACME: 30% hoy", extra={"rules": str(override)}
    )
    finding = next(
        f for f in check(bare, at="2026-11-24T11:00:00+01:00").findings if f["rule"] == "opt_out_wording_missing"
    )
    assert finding["severity"] == "block" and "by default" in finding["message"]
    (tmp_path / "with").mkdir()
    worded = make_campaign(
        tmp_path / "with",
        [{"msisdn": MADRID}],
        senders=senders,
        text="ACME: 30% hoy. Baja: BAJA",
        extra={"rules": str(override)},
    )
    assert "opt_out_wording_missing" not in {f["rule"] for f in check(worded, at="2026-11-24T11:00:00+01:00").findings}


# -- send dates and empty campaigns ------------------------------------------------------------


def test_a_past_send_at_blocks_check_and_send_writes_nothing(tmp_path):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+447400123001"}],
        senders={"GB": {"type": "long_code", "id": "447700900123"}},
        text="ACME: 30% off. Reply STOP to opt out",
        extra={"send_at": "2025-11-24T12:00:00+00:00"},
    )
    db = tmp_path / "never.duckdb"
    proc = run_cli("check", str(spec), "--json")
    assert proc.returncode == 1
    finding = next(f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "send_at_past")
    assert finding["severity"] == "block" and "2025-11-24T12:00:00+00:00" in finding["message"]
    proc = run_cli("send", str(spec), "--db", str(db), "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "send_at" in proc.stderr and "remove send_at to send now, or give a future time" in proc.stderr
    assert not db.exists()


def test_a_send_at_a_minute_ago_is_tolerated(tmp_path):
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+447400123001"}],
        senders={"GB": {"type": "long_code", "id": "447700900123"}},
        text="ACME: 30% off. Reply STOP to opt out",
        extra={"send_at": "2026-11-24T10:59:00+00:00"},
    )
    assert "send_at_past" not in {f["rule"] for f in check(spec, now=TUESDAY).findings}
    assert "send_at_past" in {f["rule"] for f in check(spec, now=datetime(2026, 11, 24, 11, 5)).findings}


def test_a_later_run_of_a_started_campaign_is_not_refused(tmp_path):
    # recipients deferred by quiet hours are sent by a later run, after send_at has passed
    spec = make_campaign(
        tmp_path,
        [{"msisdn": "+447400123001"}, {"msisdn": "+12125550123"}],
        senders={"GB": {"type": "long_code", "id": "447700900123"}, "US": {"type": "short_code", "id": "45678"}},
        text="ACME: 30% off. Reply STOP to opt out",
        extra={"send_at": "2026-11-24T12:00:00+00:00"},
    )
    con = store.connect(tmp_path / "run.duckdb")
    try:
        first = send(spec, con=con, now=datetime(2026, 11, 24, 9, 0))
        assert first["deferred"] == 1  # New York is asleep at 07:00
        later = send(spec, con=con, now=datetime(2026, 11, 24, 15, 0))
        assert "blocking" not in later and later["submitted"] == 1
    finally:
        con.close()


def test_an_empty_audience_and_a_fully_blocked_one_exit_1(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    spec = make_campaign(empty, [{"msisdn": "+33612345678"}])
    (empty / "audience.csv").write_text("msisdn,consent_at\n")
    proc = run_cli("check", str(spec), "--at", "2026-11-24T12:00:00+01:00", "--json")
    # a header and no rows is a user mistake (issue 13): one line naming the file, exit 2, nothing on stdout
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert "audience.csv: no recipients (a header and no rows)" in line

    blocked = tmp_path / "blocked"
    blocked.mkdir()
    spec = make_campaign(blocked, [{"msisdn": "+33612345678", "consent_at": ""}])  # no consent
    proc = run_cli("check", str(spec), "--at", "2026-11-24T12:00:00+01:00", "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["recipients"]["blocked"] == 1 and "nothing_to_send" in {f["rule"] for f in data["findings"]}
    proc = run_cli("send", str(spec), "--db", str(blocked / "s.duckdb"))
    assert proc.returncode == 1 and "nothing sent" in proc.stderr and "Traceback" not in proc.stderr


# -- one identity per number: STOP through every provider, in its own spelling ----------------

OUR_NUMBER = "+447700900123"
STOPPER, STAYER = "+447400123001", "+447400123002"
WHEN = "2026-11-24T13:00:00"


def provider_stop(provider: str, path):
    """A STOP from STOPPER to our number, written as that provider writes it."""
    bare = OUR_NUMBER.lstrip("+")
    if provider == "twilio":  # Twilio writes E.164 with +
        line = {
            "MessageSid": "SMstop1",
            "AccountSid": "AC1",
            "From": STOPPER,
            "To": OUR_NUMBER,
            "Body": "STOP",
            "SmsStatus": "received",
            "NumMedia": "0",
            "received_at": WHEN + "Z",
        }
        path.write_text(json.dumps(line) + "\n")
    elif provider == "infobip":  # Infobip: international without +
        body = {
            "results": [
                {
                    "messageId": "IBstop1",
                    "from": STOPPER.lstrip("+"),
                    "to": bare,
                    "text": "STOP",
                    "cleanText": "",
                    "keyword": "STOP",
                    "receivedAt": WHEN + ".000+0000",
                    "smsCount": 1,
                }
            ],
            "messageCount": 1,
            "pendingMessageCount": 0,
        }
        path.write_text(json.dumps(body) + "\n")
    elif provider == "vonage":  # Vonage: msisdn is the person, to is our number, without +
        line = {
            "msisdn": STOPPER.lstrip("+"),
            "to": bare,
            "messageId": "Vstop1",
            "text": "STOP",
            "type": "text",
            "keyword": "STOP",
            "message-timestamp": WHEN.replace("T", " "),
        }
        path.write_text(json.dumps(line) + "\n")
    else:  # SMPP deliver_sm (esm_class 0: a mobile-originated message), addresses without +
        line = {
            "esm_class": 0,
            "source_addr": STOPPER.lstrip("+"),
            "destination_addr": bare,
            "short_message": "STOP",
            "received_at": WHEN + "Z",
        }
        path.write_text(json.dumps(line) + "\n")
    return path


@pytest.mark.parametrize("provider", ["twilio", "infobip", "vonage", "smpp"])
@pytest.mark.parametrize(
    "first_spelling,later_spelling", [("447700900123", "+447700900123"), ("+447700900123", "447700900123")]
)
def test_a_stop_in_any_spelling_blocks_the_next_campaign(tmp_path, provider, first_spelling, later_spelling):
    db = tmp_path / "id.duckdb"
    text = "ACME: 30% off. Reply STOP to opt out"
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = make_campaign(
        tmp_path / "one",
        [{"msisdn": STOPPER}, {"msisdn": STAYER}],
        name="first",
        text=text,
        senders={"GB": {"type": "long_code", "id": first_spelling}},
    )
    con = store.connect(db)
    try:
        assert send(first, con=con, now=datetime(2026, 11, 24, 12, 0))["submitted"] == 2
    finally:
        con.close()
    counts = ingest([str(provider_stop(provider, tmp_path / f"{provider}.jsonl"))], fmt=provider, db=db)
    assert counts["loaded"] == 1 and counts["quarantined"] == 0

    later = make_campaign(
        tmp_path / "two",
        [{"msisdn": STOPPER}, {"msisdn": STAYER}],
        name="second",
        text=text,
        senders={"GB": {"type": "long_code", "id": later_spelling}},
    )
    result = check(later, at="2026-11-25T12:00:00+00:00", db=db)
    assert (decision(result, STOPPER)["decision"], decision(result, STOPPER)["reason"]) == ("blocked", "opted_out")
    assert decision(result, STAYER)["decision"] == "allowed"
    with duckdb.connect(str(db), read_only=True) as c:
        assert c.execute("SELECT campaign_id, recipient, intent FROM inbound").fetchall() == [
            ("first", OUR_NUMBER, "opt_out")
        ]
        assert c.execute("SELECT msisdn, scope, action FROM consent").fetchall() == [(STOPPER, OUR_NUMBER, "opt_out")]


def test_a_short_code_reply_from_another_country_is_not_credited_to_it(tmp_path):
    db = tmp_path / "sc.duckdb"
    spec = make_campaign(tmp_path, [{"msisdn": "+33612345678"}])  # FR short code 36180
    con = store.connect(db)
    try:
        send(spec, con=con, now=datetime(2026, 11, 24, 12, 0))
    finally:
        con.close()
    line = {
        "MessageSid": "SMother",
        "AccountSid": "AC1",
        "From": STOPPER,
        "To": "36180",
        "Body": "STOP",
        "SmsStatus": "received",
        "NumMedia": "0",
        "received_at": WHEN + "Z",
    }
    (tmp_path / "t.jsonl").write_text(json.dumps(line) + "\n")
    ingest([str(tmp_path / "t.jsonl")], fmt="twilio", db=db)
    with duckdb.connect(str(db), read_only=True) as c:
        assert c.execute("SELECT campaign_id FROM inbound").fetchall() == [(None,)]


def test_a_ledger_written_before_the_migration_keeps_its_meaning(tmp_path):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_version(version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    for number, statements in enumerate(store.MIGRATIONS[:3], start=1):
        for sql in statements:
            con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, now())", [number])
    # as an older smslab stored them: Infobip's spelling of our number, a brand in lower case
    con.execute(
        "INSERT INTO consent VALUES ('c1', ?, '447700900123', 'opt_out', 'reply:infobip', '{}', "
        "TIMESTAMP '2026-11-01 10:00:00')",
        [STOPPER],
    )
    con.execute(
        "INSERT INTO consent VALUES ('c2', ?, 'acme', 'opt_out', 'reply:twilio', '{}', "
        "TIMESTAMP '2026-11-01 10:00:00')",
        ["+447400123003"],
    )
    con.execute(
        "INSERT INTO messages (message_id, campaign_id, msisdn, region, sender_type, sender_id, status) "
        "VALUES ('m1', 'old', ?, 'GB', 'long_code', '447700900123', 'delivered'), "
        "('m2', 'old', ?, 'KE', 'alphanumeric', 'Acme', 'delivered')",
        [STOPPER, "+254712345678"],
    )
    con.execute(
        "INSERT INTO inbound (provider, provider_message_id, msisdn, recipient, text) "
        "VALUES ('vonage', 'v1', ?, '447700900123', 'STOP')",
        [STOPPER],
    )
    con.close()

    spec = make_campaign(
        tmp_path,
        [{"msisdn": STOPPER}, {"msisdn": STAYER}, {"msisdn": "+447400123003"}],
        senders={"GB": {"type": "long_code", "id": "+447700900123", "brand": "ACME"}},
        text="ACME: 30% off. Reply STOP to opt out",
    )
    result = check(spec, at="2026-11-25T12:00:00+00:00", db=db)  # connecting migrates
    assert decision(result, STOPPER)["reason"] == "opted_out"
    assert decision(result, "+447400123003")["reason"] == "opted_out"  # brand scope, any case
    assert decision(result, STAYER)["decision"] == "allowed"
    with duckdb.connect(str(db)) as c:
        assert sorted(c.execute("SELECT scope FROM consent").fetchall()) == [("+447700900123",), ("ACME",)]
        assert sorted(c.execute("SELECT sender_id FROM messages").fetchall()) == [("+447700900123",), ("Acme",)]
        assert c.execute("SELECT recipient FROM inbound").fetchall() == [("+447700900123",)]
        before = c.execute("SELECT * FROM consent ORDER BY consent_id").fetchall()
        store.canonical_identities(c)  # idempotent
        assert c.execute("SELECT * FROM consent ORDER BY consent_id").fetchall() == before


@pytest.mark.parametrize(
    "written,region,sender_type,expected",
    [
        ("447700900123", None, None, "+447700900123"),
        ("+44 7700 900123", None, None, "+447700900123"),
        ("0044 7700 900123", None, None, "+447700900123"),
        ("07700 900123", "GB", "long_code", "+447700900123"),
        ("2025550123", "US", "long_code", "+12025550123"),
        ("12025550123", "US", "long_code", "+12025550123"),
        ("8005550123", "US", "toll_free", "+18005550123"),
        ("36180", None, None, "36180"),
        ("36180", "FR", "short_code", "36180"),
        ("Acme", None, "alphanumeric", "Acme"),
    ],
)
def test_one_stored_form_per_number(written, region, sender_type, expected):
    assert identity.address(written, region, sender_type) == expected
    assert identity.address(expected, region, sender_type) == expected  # idempotent


def test_smpp_sets_ton_from_the_canonical_form():
    from smpplib import consts as C

    from smslab.providers.smpp import source_address

    assert source_address("long_code", "+447700900123") == (C.SMPP_TON_INTL, C.SMPP_NPI_ISDN, "447700900123")
    assert source_address("long_code", "447700900123") == (C.SMPP_TON_INTL, C.SMPP_NPI_ISDN, "447700900123")
    assert source_address("short_code", "36180")[0] == C.SMPP_TON_NWSPEC
    assert source_address("alphanumeric", "ACME")[0] == C.SMPP_TON_ALNUM


def test_unknown_registration_and_unknown_content_rules_are_said(tmp_path, monkeypatch):
    from test_state_rules_and_caps import every_day, write_rules

    folder = tmp_path / "rules"
    write_rules(
        folder,
        "ES",
        "Spain",
        ["Europe/Madrid"],
        [
            {"fact": "senders.long_code.available", "value": True},
            {"fact": "senders.long_code.marketing", "value": True},
            {"fact": "senders.long_code.two_way", "value": True},
            {"fact": "quiet_hours.allowed", "value": every_day("08:00-21:00")},
            {"fact": "quiet_hours.holidays", "value": "allowed"},
        ],
    )
    monkeypatch.setenv("SMSLAB_RULES_DIR", str(folder))
    spec = make_campaign(
        tmp_path,
        [{"msisdn": MADRID}],
        senders={"ES": {"type": "long_code", "id": "34600900123"}},
        text="ACME: 30% hoy. Baja: responde BAJA",
    )
    result = check(spec, at="2026-11-24T11:00:00+01:00")
    warns = {f["rule"]: f for f in result.findings if f["severity"] == "warn"}
    assert "registration_unknown" in warns and "content_rules_unknown" in warns
    assert decision(result, MADRID)["decision"] == "allowed"


@pytest.mark.parametrize("sender", [{"type": "long_code", "id": "0612345678"}, {"type": "toll_free", "id": "12"}])
def test_a_number_sender_that_is_no_number_is_a_spec_error(tmp_path, sender):
    spec = make_campaign(tmp_path, [{"msisdn": "+33612345678"}], senders={"*": sender})
    proc = run_cli("check", str(spec), "--at", "2026-11-24T12:00:00+01:00")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "international form" in proc.stderr
