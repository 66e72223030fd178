"""Infobip over loopback: every request checked against the documented SMS API."""

import json
import logging
from datetime import datetime, timedelta

import pytest

from fakes.campaign import make_spec
from fakes.infobip import SEND_AT, FakeInfobip
from smslab import store
from smslab.errors import ProviderError
from smslab.providers import get_provider
from smslab.receiving.journal_load import load
from smslab.sending import send

AFTERNOON = datetime(2026, 12, 1, 14, 0)  # 15:00 in Paris
FAST = 10_000.0  # messages/s: no pacing sleeps in tests (pacing itself is tested with a fake clock)


@pytest.fixture
def fake(monkeypatch):
    with FakeInfobip(api_key="secret-infobip-key") as server:
        monkeypatch.setenv("INFOBIP_BASE_URL", server.url)
        monkeypatch.setenv("INFOBIP_API_KEY", "secret-infobip-key")
        monkeypatch.setenv("SMSLAB_PUBLIC_URL", "https://hooks.example.org/")
        yield server


def test_a_campaign_goes_out_once_with_documented_requests(tmp_path, con, fake, caplog):
    caplog.set_level(logging.DEBUG)
    result = send(make_spec(tmp_path), con=con, provider="infobip", now=AFTERNOON, throughput=FAST, batch_size=15)
    assert result["submitted"] == 40 and result["failed"] == 0
    assert fake.problems == []
    assert len(fake.bodies) == 3  # 15 + 15 + 10
    assert sorted(fake.accepted.values()) == [1] * 40
    first = fake.bodies[0]["messages"][0]
    assert first["notifyUrl"] == "https://hooks.example.org/infobip/dlr"
    assert first["notifyContentType"] == "application/json"
    assert first["from"] == "36180" and not first["destinations"][0]["to"].startswith("+")
    assert first["callbackData"] == first["destinations"][0]["messageId"]
    rows = con.execute("SELECT message_id, provider_message_id, status FROM messages").fetchall()
    assert all(mid == pid and status == "submitted" for mid, pid, status in rows)
    again = send(make_spec(tmp_path), con=con, provider="infobip", now=AFTERNOON, throughput=FAST)
    assert again["submitted"] == 0 and sum(fake.accepted.values()) == 40
    assert "secret-infobip-key" not in caplog.text


def test_429_is_retried_with_backoff_and_nothing_is_sent_twice(tmp_path, con, fake):
    fake.script = [429, 429]
    result = send(make_spec(tmp_path), con=con, provider="infobip", now=AFTERNOON, throughput=FAST, batch_size=20)
    assert result["submitted"] == 40 and result["retries"] == 2
    assert sorted(fake.accepted.values()) == [1] * 40


def test_a_500_makes_the_batch_unknown_and_it_is_never_resent(tmp_path, con, fake):
    fake.script = [None, 500]
    result = send(make_spec(tmp_path), con=con, provider="infobip", now=AFTERNOON, throughput=FAST, batch_size=20)
    assert result["submitted"] == 20 and result["unknown"] == 20
    again = send(make_spec(tmp_path), con=con, provider="infobip", now=AFTERNOON, throughput=FAST, batch_size=20)
    assert again["submitted"] == 0
    assert fake.sends == 2  # the uncertain batch was not tried again
    assert (
        store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'unknown' AND error_code LIKE 'HTTP 500%'")
        == 20
    )


def test_a_rejected_destination_is_permanent_and_never_retried(tmp_path, con, fake):
    spec = make_spec(tmp_path)
    target = None
    result = send(spec, con=con, provider="infobip", now=AFTERNOON, throughput=FAST, dry_run=True)
    import pandas as pd

    from fakes.campaign import e164

    target = e164(pd.read_csv(tmp_path / "audience.csv")["msisdn"].iloc[0]).lstrip("+")
    fake.rejected = {target}
    result = send(spec, con=con, provider="infobip", now=AFTERNOON, throughput=FAST)
    assert result["submitted"] == 39 and result["failed"] == 1
    assert store.scalar(con, "SELECT error_code FROM messages WHERE status = 'rejected'") == "REJECTED_NETWORK"
    send(spec, con=con, provider="infobip", now=AFTERNOON, throughput=FAST)
    sent_to = [d["to"] for b in fake.bodies for m in b["messages"] for d in m["destinations"]]
    assert sent_to.count(target) == 1


def test_wrong_credentials_stop_the_run_and_leave_everything_queued(tmp_path, con, fake, monkeypatch):
    monkeypatch.setenv("INFOBIP_API_KEY", "wrong")
    with pytest.raises(ProviderError, match="INFOBIP_API_KEY"):
        send(make_spec(tmp_path), con=con, provider="infobip", now=AFTERNOON, throughput=FAST)
    assert (
        store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'queued' AND submit_attempted_at IS NULL") == 40
    )
    monkeypatch.setenv("INFOBIP_API_KEY", "secret-infobip-key")
    assert send(make_spec(tmp_path), con=con, provider="infobip", now=AFTERNOON, throughput=FAST)["submitted"] == 40


def test_missing_credentials_name_the_variable_before_anything_is_written(tmp_path, con, monkeypatch):
    monkeypatch.delenv("INFOBIP_API_KEY", raising=False)
    monkeypatch.setenv("INFOBIP_BASE_URL", "http://127.0.0.1:9")
    with pytest.raises(ProviderError, match="INFOBIP_API_KEY is not set"):
        send(make_spec(tmp_path), con=con, provider="infobip", now=AFTERNOON, throughput=FAST)
    assert store.scalar(con, "SELECT count(*) FROM messages") == 0


# a fixed clock: Monday 23 November 2026 09:00 UTC, launching Wednesday 25 at 15:00 in Paris (no
# holiday near); a clock of its own makes the test mean the same on every day it runs
MONDAY_MORNING = datetime(2026, 11, 23, 9, 0)
WEDNESDAY_LAUNCH = datetime(2026, 11, 25, 14, 0)


def test_a_future_send_at_uses_infobip_scheduling(tmp_path, con, fake):
    launch = WEDNESDAY_LAUNCH
    spec = make_spec(tmp_path, send_at=launch.isoformat() + "+00:00")
    result = send(spec, con=con, provider="infobip", throughput=FAST, now=MONDAY_MORNING)
    assert result["submitted"] == 40 and fake.problems == []
    stamps = {m["sendAt"] for b in fake.bodies for m in b["messages"]}
    assert stamps == {launch.strftime("%Y-%m-%dT%H:%M:%S.000+0000")} and all(SEND_AT.match(s) for s in stamps)


def test_pulled_reports_reach_dlr_events(tmp_path, con, fake):
    send(make_spec(tmp_path), con=con, provider="infobip", now=AFTERNOON, throughput=FAST)
    provider = get_provider("infobip", landing=tmp_path / "landing")
    try:
        assert provider.pull_reports(limit=15) == 40
        assert provider.pull_reports() == 0  # each report is returned once
    finally:
        provider.close()
    assert fake.problems == []
    counts = load(con=con, landing=tmp_path / "landing")
    assert counts["loaded"] == 40 and counts["quarantined"] == 0
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'delivered'") == 40


# --- smslab pull infobip: reports and replies for accounts without webhooks ------------------


def pull_cli(*args):
    from click.testing import CliRunner

    from smslab.cli import cli

    return CliRunner().invoke(cli, ["pull", "infobip", *map(str, args)])


def sent_campaign(tmp_path, fake, replies=()):
    """40 messages sent through the fake (so it holds 40 reports), and `replies` queued as received messages."""
    db = tmp_path / "pull.duckdb"
    assert send(make_spec(tmp_path), db=db, provider="infobip", now=AFTERNOON, throughput=FAST)["submitted"] == 40
    import pandas as pd

    from fakes.campaign import e164

    numbers = [e164(n).lstrip("+") for n in pd.read_csv(tmp_path / "audience.csv")["msisdn"]]
    for number, text in zip(numbers, replies, strict=False):
        fake.add_reply(number, "36180", text)
    return db, numbers


def test_pull_then_load_puts_reports_in_dlr_events_and_replies_in_inbound(tmp_path, fake):
    db, numbers = sent_campaign(tmp_path, fake, replies=["STOP", "Stop", "Deal"])
    landing = tmp_path / "pulled"
    result = pull_cli("--limit", 15, "--load", "--landing", landing, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "reports": 40,
        "inbound": 3,
        "load": {"loaded": 43, "duplicates": 0, "quarantined": 0},
    }
    assert result.stderr == "" and "secret-infobip-key" not in result.output
    gets = [r for r in fake.requests if r.method == "GET"]
    assert [r.path for r in gets] == ["/sms/1/reports"] * 3 + ["/sms/1/inbox/reports"]  # 15 + 15 + 10, then 3
    assert all(r.query == {"limit": ["15"]} for r in gets) and fake.problems == []
    with store.connect(db) as con:
        assert store.scalar(con, "SELECT count(*) FROM dlr_events WHERE provider = 'infobip'") == 40
        assert store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'delivered'") == 40
        replies = con.execute("SELECT msisdn, recipient, intent, campaign_id FROM inbound ORDER BY text").fetchall()
    assert replies == [
        ("+" + numbers[2], "36180", "keyword", "unit-send"),
        ("+" + numbers[0], "36180", "opt_out", "unit-send"),
        ("+" + numbers[1], "36180", "opt_out", "unit-send"),
    ]
    # Infobip hands each report out once: a second pull finds nothing new, and loads nothing twice
    again = pull_cli("--limit", 15, "--load", "--landing", landing, "--db", db, "--json")
    assert json.loads(again.stdout) == {
        "reports": 0,
        "inbound": 0,
        "load": {"loaded": 0, "duplicates": 0, "quarantined": 0},
    }


def test_pull_without_load_leaves_the_journal_for_smslab_load(tmp_path, fake):
    db, _ = sent_campaign(tmp_path, fake, replies=["STOP"])
    result = pull_cli("--no-inbound", "--json")  # SMSLAB_LANDING is the test's folder
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"reports": 40, "inbound": 0}
    assert {r.path for r in fake.requests if r.method == "GET"} == {"/sms/1/reports"}
    assert len(fake.pending_inbound) == 1  # not fetched, so still waiting at Infobip
    assert load(db=db) == {"loaded": 40, "duplicates": 0, "quarantined": 0}


def test_pull_with_a_wrong_key_is_one_line_and_takes_nothing(tmp_path, fake, monkeypatch):
    sent_campaign(tmp_path, fake)
    monkeypatch.setenv("INFOBIP_API_KEY", "wrong")
    result = pull_cli("--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"smslab: Infobip {fake.url}/sms/1/reports: the credentials were refused (HTTP 401 UNAUTHORIZED: "
        "Invalid login details); check INFOBIP_API_KEY and INFOBIP_BASE_URL"
    ]
    assert len(fake.pending_reports) == 40


def test_pull_without_credentials_names_the_variable(monkeypatch):
    monkeypatch.delenv("INFOBIP_API_KEY", raising=False)
    monkeypatch.setenv("INFOBIP_BASE_URL", "http://127.0.0.1:9")
    result = pull_cli("--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["smslab: INFOBIP_API_KEY is not set: export it or add it to a .env file"]


def test_pull_from_an_unreachable_infobip_is_one_line(monkeypatch):
    from fakes.smsc import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("INFOBIP_BASE_URL", url)
    monkeypatch.setenv("INFOBIP_API_KEY", "k")
    result = pull_cli("--json")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"smslab: Infobip {url}/sms/1/reports: unreachable (ConnectError")


def test_a_failed_inbox_pull_says_the_reports_before_it_are_safe(tmp_path, monkeypatch):
    from fakes.infobip import FakeInfobip, error

    class NoInbox(FakeInfobip):
        def route(self, request):
            if request.path == "/sms/1/inbox/reports":
                return error(500, "GENERAL_ERROR", "Something went wrong")
            return super().route(request)

    with NoInbox(api_key="k") as fake:
        monkeypatch.setenv("INFOBIP_BASE_URL", fake.url)
        monkeypatch.setenv("INFOBIP_API_KEY", "k")
        db, _ = sent_campaign(tmp_path, fake, replies=["STOP"])
        result = pull_cli("--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"smslab: Infobip {fake.url}/sms/1/inbox/reports: HTTP 500 GENERAL_ERROR: Something went wrong "
        "(the 40 report(s) pulled before are saved to the journal)"
    ]
    assert load(db=db)["loaded"] == 40


def test_a_send_at_beyond_180_days_stays_queued_for_a_later_run(tmp_path, con, fake):
    """Infobip schedules at most 180 days ahead (the fake refuses further, as Infobip does): such
    messages are not sent now and wait, queued, for a run closer to the date."""
    launch = (datetime.utcnow() + timedelta(days=200)).replace(hour=14, minute=0, second=0, microsecond=0)
    while launch.weekday() >= 5:
        launch += timedelta(days=1)
    spec = make_spec(tmp_path, send_at=launch.isoformat() + "+00:00")
    result = send(spec, con=con, provider="infobip", throughput=FAST)
    assert result["submitted"] == 0 and result["failed"] == 0 and fake.sends == 0 and fake.problems == []
    rows = con.execute("SELECT status, error_code, submit_attempted_at FROM messages").fetchall()
    assert len(rows) == 40 and {r[0] for r in rows} == {"queued"}
    assert all("180 days" in r[1] and r[2] is None for r in rows)
