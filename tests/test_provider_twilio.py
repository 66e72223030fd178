"""Twilio over loopback: every request checked against the documented Messages API."""

import json
from datetime import datetime

import pandas as pd
import pytest

from fakes.campaign import e164, make_spec
from fakes.twilio import FakeTwilio
from smslab import store
from smslab.errors import ProviderError
from smslab.sending import send

AFTERNOON = datetime(2026, 12, 1, 14, 0)  # 15:00 in Paris
FAST = 10_000.0  # messages/s: no pacing sleeps in tests
SID = "AC" + "1" * 32


@pytest.fixture
def fake(monkeypatch):
    with FakeTwilio(account_sid=SID, auth_token="secret-twilio-token") as server:
        monkeypatch.setenv("TWILIO_API_BASE", server.url)
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret-twilio-token")
        monkeypatch.setenv("SMSLAB_PUBLIC_URL", "https://hooks.example.org")
        monkeypatch.delenv("TWILIO_MESSAGING_SERVICE_SID", raising=False)
        yield server


def run(tmp_path, con, **kw):
    kw.setdefault("now", AFTERNOON)
    return send(make_spec(tmp_path), con=con, provider="twilio", throughput=FAST, **kw)


def test_a_campaign_goes_out_once_with_documented_requests(tmp_path, con, fake):
    result = run(tmp_path, con, batch_size=16)
    assert result["submitted"] == 40 and fake.problems == []
    assert sorted(fake.accepted.values()) == [1] * 40
    form = fake.forms[0]
    assert form["From"] == "36180" and form["To"].startswith("+33")
    assert form["StatusCallback"] == "https://hooks.example.org/twilio/status"
    sids = [r[0] for r in con.execute("SELECT provider_message_id FROM messages").fetchall()]
    assert all(s.startswith("SM") for s in sids) and len(set(sids)) == 40
    assert run(tmp_path, con)["submitted"] == 0 and sum(fake.accepted.values()) == 40


def test_429_mid_batch_retries_only_what_was_not_sent(tmp_path, con, fake):
    fake.script = [None, None, 429, None, 429]
    result = run(tmp_path, con, batch_size=10)
    assert result["submitted"] == 40 and result["retries"] == 2
    assert sorted(fake.accepted.values()) == [1] * 40 and fake.problems == []


def test_a_500_makes_that_message_unknown_and_it_is_never_resent(tmp_path, con, fake):
    fake.script = [None, 500]
    result = run(tmp_path, con, batch_size=10)
    assert result["unknown"] == 1 and result["submitted"] == 39
    again = run(tmp_path, con)
    assert again["submitted"] == 0 and fake.sends == 40  # each message tried once, the uncertain one never again
    assert sum(fake.accepted.values()) == 39


def test_an_unsubscribed_recipient_is_a_permanent_failure(tmp_path, con, fake):
    make_spec(tmp_path)
    target = e164(pd.read_csv(tmp_path / "audience.csv")["msisdn"].iloc[3])
    fake.invalid = {target}
    result = run(tmp_path, con)
    assert result["failed"] == 1 and result["submitted"] == 39
    assert store.scalar(con, "SELECT error_code FROM messages WHERE msisdn = ?", [target]).startswith("21610")
    run(tmp_path, con)
    assert sum(1 for r in fake.requests if r.form().get("To") == [target]) == 1


def test_wrong_credentials_stop_the_run(tmp_path, con, fake, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "nope")
    with pytest.raises(ProviderError, match="TWILIO_AUTH_TOKEN"):
        run(tmp_path, con)
    assert (
        store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'queued' AND submit_attempted_at IS NULL") == 40
    )


def test_missing_account_sid_is_named(tmp_path, con, monkeypatch):
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "x")
    with pytest.raises(ProviderError, match="TWILIO_ACCOUNT_SID is not set"):
        run(tmp_path, con)


def test_a_future_send_at_is_scheduled_through_the_messaging_service(tmp_path, con, fake, monkeypatch):
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", "MG" + "2" * 32)
    # a fixed clock, Twilio's included: Monday 23 November 2026 09:00 UTC, launching Wednesday 25 at
    # 15:00 in Paris (no holiday near), whatever the day the test runs
    monday_morning, launch = datetime(2026, 11, 23, 9, 0), datetime(2026, 11, 25, 14, 0)
    fake.now = lambda: monday_morning
    spec = make_spec(tmp_path, send_at=launch.isoformat() + "+00:00")
    result = send(spec, con=con, provider="twilio", throughput=FAST, now=monday_morning)
    assert result["submitted"] == 40 and fake.problems == []
    assert {(f["ScheduleType"], f["SendAt"], f["MessagingServiceSid"][:2]) for f in fake.forms} == {
        ("fixed", launch.strftime("%Y-%m-%dT%H:%M:%SZ"), "MG")
    }
    assert not any("From" in f for f in fake.forms)


def test_a_full_from_queue_21611_is_retried_later_not_failed(tmp_path, con, fake):
    """Twilio's 21611 (the From number's queue is full) and other documented limits are 'not now':
    the message was not created, so it is retried; nothing is marked failed."""
    fake.script = [None, 21611, None, 63017]
    result = run(tmp_path, con, batch_size=10)
    assert result["submitted"] == 40 and result["failed"] == 0 and result["retries"] == 2
    assert sorted(fake.accepted.values()) == [1] * 40 and fake.problems == []


def test_limits_that_outlast_the_retries_leave_messages_queued(tmp_path, con, fake):
    fake.script = [21611] * 10
    result = run(tmp_path, con, batch_size=40, max_retries=1)
    assert result["failed"] == 0 and result["retry_later"] == 40 - result["submitted"]
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'queued' AND error_code LIKE '%21611%'") > 0


def test_from_and_to_are_sent_in_e164_whatever_the_spelling(fake):
    """A long code or toll-free sender written without + (or nationally) goes out as E.164;
    a short code as its digits, an alphanumeric id as written."""
    from smslab.providers import OutboundMessage
    from smslab.providers.twilio import TwilioProvider

    provider = TwilioProvider()

    def form(sender_type, sender_id, region="FR", msisdn="33612345678"):
        m = OutboundMessage("m1", "c1", msisdn, region, sender_type, sender_id, "hi", "GSM-7", 1)
        return provider.form(m, AFTERNOON)

    assert form("long_code", "33644630000")["From"] == "+33644630000"
    assert form("long_code", "06 44 63 00 00")["From"] == "+33644630000"
    assert form("toll_free", "18005550199", region="US")["From"] == "+18005550199"
    assert form("short_code", "36180")["From"] == "36180"
    assert form("alphanumeric", "Acme")["From"] == "Acme"
    assert form("short_code", "36180")["To"] == "+33612345678"
    provider.close()


# --- smslab pull twilio: final status, error code and price from List Messages -----------------


def cli(*args):
    from click.testing import CliRunner

    from smslab.cli import cli as smslab

    return CliRunner().invoke(smslab, [*map(str, args)])


def test_pull_twilio_then_load_gives_messages_their_price_and_final_status(tmp_path, fake):
    """The user's path: send through Twilio, Twilio prices the messages later, `smslab pull
    twilio --load` brings status, error code and price in, and cost analytics count them as real."""
    from fakes.campaign import NOW, write_spec
    from smslab.analytics import cost_per_outcome

    fake.now = lambda: datetime(2026, 11, 23, 9, 0)  # Twilio's clock: date_sent is that Monday
    db = tmp_path / "twilio.duckdb"
    sent = cli(
        "send", write_spec(tmp_path), "--provider", "twilio", "--now", NOW, "--throughput", 10000, "--db", db, "--json"
    )
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["submitted"] == 40
    numbers = sorted(fake.accepted)
    assert fake.settle("delivered", price="-0.00750") == 40  # Twilio prices them after sending
    fake.settle("undelivered", price="-0.00750", error_code=30006, to=numbers[0])
    fake.settle("delivered", price=None, to=numbers[1])  # not priced yet
    with store.connect(db) as con:
        assert store.scalar(con, "SELECT count(*) FROM messages WHERE price IS NOT NULL") == 0

    pulled = cli(
        "pull",
        "twilio",
        "--since",
        "2026-11-23",
        "--until",
        "2026-11-23",
        "--limit",
        15,
        "--load",
        "--landing",
        tmp_path / "pulled",
        "--db",
        db,
        "--json",
    )
    assert pulled.exit_code == 0, pulled.output
    assert json.loads(pulled.stdout) == {
        "messages": 40,
        "inbound": 0,
        "since": "2026-11-23",
        "until": "2026-11-23",
        "load": {"loaded": 40, "duplicates": 0, "quarantined": 0},
    }
    assert pulled.stderr == "" and "secret-twilio-token" not in pulled.output
    gets = [r for r in fake.requests if r.method == "GET"]
    assert len(gets) == 3 and fake.problems == []  # 15 + 15 + 10, by next_page_uri
    assert gets[0].query == {"DateSent>": ["2026-11-23"], "DateSent<": ["2026-11-23"], "PageSize": ["15"]}
    assert [r.query["Page"] for r in gets[1:]] == [["1"], ["2"]]
    with store.connect(db) as con:
        rows = con.execute(
            "SELECT msisdn, status, error_code, price, currency, price_source FROM messages ORDER BY msisdn"
        ).fetchall()
        costs = cost_per_outcome(con, "unit-send")
    by_number = {r[0]: r[1:] for r in rows}
    assert by_number[numbers[0]] == ("undelivered", "30006", 0.0075, "USD", "report")
    assert by_number[numbers[1]] == ("delivered", None, None, None, None)  # price null at Twilio: unknown here
    assert {r[1:] for r in rows if r[0] not in numbers[:2]} == {("delivered", None, 0.0075, "USD", "report")}
    usd = costs[costs["currency"] == "USD"].iloc[0]
    assert (usd["priced_by_reports"], usd["priced_by_provider"]) == (39, 0)
    assert usd["cost"] == pytest.approx(39 * 0.0075)
    assert "39 provider reports" in usd["price_basis"]

    # pulled again once Twilio has priced the last one (same status, now with a price): that price
    # arrives, nothing else loads twice
    fake.settle("delivered", price="-0.00750", to=numbers[1])
    again = cli(
        "pull",
        "twilio",
        "--since",
        "2026-11-23",
        "--until",
        "2026-11-23",
        "--load",
        "--landing",
        tmp_path / "pulled",
        "--db",
        db,
        "--json",
    )
    assert json.loads(again.stdout)["load"] == {"loaded": 1, "duplicates": 39, "quarantined": 0}
    with store.connect(db) as con:
        assert con.execute(
            "SELECT status, price, currency FROM messages WHERE msisdn = ?", [numbers[1]]
        ).fetchone() == ("delivered", 0.0075, "USD")


def test_pull_twilio_defaults_to_the_last_seven_days(tmp_path, fake):
    from datetime import date

    from smslab.providers.twilio import pull

    assert pull(today=date(2026, 12, 7), landing=tmp_path / "j") == {
        "messages": 0,
        "inbound": 0,
        "since": "2026-12-01",
        "until": "2026-12-07",
    }
    (request,) = [r for r in fake.requests if r.method == "GET"]
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.query == {"DateSent>": ["2026-12-01"], "DateSent<": ["2026-12-07"], "PageSize": ["1000"]}
    assert request.headers["authorization"].startswith("Basic ") and fake.problems == []


def test_pull_twilio_with_a_bad_since_is_one_line(tmp_path, fake):
    result = cli("pull", "twilio", "--since", "01/12/2026", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "smslab: --since '01/12/2026' is not a date: write it as YYYY-MM-DD, e.g. 2026-12-01"
    ]
    assert fake.requests == []
    late = cli("pull", "twilio", "--since", "2026-12-08", "--until", "2026-12-01")
    assert late.exit_code == 2 and late.stderr.splitlines() == [
        "smslab: Twilio List Messages: --since 2026-12-08 is after --until 2026-12-01"
    ]


def test_pull_twilio_without_credentials_names_the_variable(monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    result = cli("pull", "twilio", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["smslab: TWILIO_AUTH_TOKEN is not set: export it or add it to a .env file"]


def test_pull_twilio_with_a_wrong_token_is_one_line(fake, monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "nope")
    result = cli("pull", "twilio", "--since", "2026-12-01", "--until", "2026-12-01", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"smslab: Twilio {fake.url}/2010-04-01/Accounts/{SID}/Messages.json: the credentials were refused "
        "(HTTP 401 20003: Authenticate); check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    ]


def test_pull_infobip_takes_no_window(monkeypatch):
    result = cli("pull", "infobip", "--since", "2026-12-01")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert "--since" in result.stderr and "Infobip" in result.stderr


def test_pulled_replies_are_replies_and_a_webhook_for_the_same_one_is_a_duplicate(tmp_path, fake):
    """List Messages shows inbound messages too: a STOP read there is an opt-out, once."""
    from fakes.campaign import e164
    from smslab.receiving.journal import Journal
    from smslab.receiving.journal_load import load

    make_spec(tmp_path)
    person = e164(pd.read_csv(tmp_path / "audience.csv")["msisdn"].iloc[0])
    fake.messages.append(
        {
            "sid": "SM" + "9" * 32,
            "direction": "inbound",
            "from": person,
            "to": "36180",
            "body": "STOP",
            "status": "received",
            "num_segments": "1",
            "price": "-0.00790",
            "price_unit": "USD",
            "error_code": None,
            "date_sent": "Mon, 23 Nov 2026 09:05:00 +0000",
            "date_updated": "Mon, 23 Nov 2026 09:05:00 +0000",
        }
    )
    result = cli("pull", "twilio", "--since", "2026-11-23", "--until", "2026-11-23", "--load", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inbound"] == 1 and json.loads(result.stdout)["messages"] == 0
    webhook = f"MessageSid={'SM' + '9' * 32}&From={person.replace('+', '%2B')}&To=36180&Body=STOP"
    Journal().append_many(
        [
            {
                "provider": "twilio",
                "kind": "inbound",
                "body": webhook,
                "content_type": "application/x-www-form-urlencoded",
                "received_at": datetime(2026, 11, 23, 9, 5),
            }
        ]
    )
    assert load() == {"loaded": 0, "duplicates": 1, "quarantined": 0}
    with store.connect() as con:
        assert con.execute("SELECT msisdn, text, intent, received_at FROM inbound").fetchall() == [
            (person, "STOP", "opt_out", datetime(2026, 11, 23, 9, 5))
        ]
