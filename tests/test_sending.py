"""The sender: fail closed, never twice, deferred messages wait for their window."""

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import pytest

from smslab import store
from smslab.campaign import parse_spec
from smslab.providers import Provider, SubmitResult
from smslab.sending import send
from smslab.synthetic import audience as synthetic_audience

# Tuesday 1 December 2026: 14:00 UTC is 15:00 in Paris; 22:30 UTC is 23:30 in Paris
AFTERNOON = datetime(2026, 12, 1, 14, 0)
LATE_EVENING = datetime(2026, 12, 1, 22, 30)
NEXT_MORNING = datetime(2026, 12, 2, 9, 0)  # 10:00 in Paris


def make_spec(tmp_path, n=40):
    frame = synthetic_audience(400, seed=3)
    fr = frame[frame["language"] == "fr"].head(n).copy()
    fr["consent_at"] = "2026-01-01T00:00:00"
    fr["consent_source"] = "web_form"
    fr.to_csv(tmp_path / "audience.csv", index=False)
    return parse_spec(
        {
            "name": "unit-send",
            "purpose": "marketing",
            "two_way": True,
            "audience": "audience.csv",
            "default_region": "FR",
            "senders": {"FR": {"type": "short_code", "id": "36180"}},
            "message": {"text": "ACME: -30% aujourd'hui. STOP au 36180"},
            "keywords": ["DEAL"],
        },
        source=str(tmp_path / "spec.yaml"),
        base_dir=tmp_path,
    )


@dataclass
class CountingProvider(Provider):
    """A non-idempotent provider that counts what it is given and can fail on a chosen batch."""

    name: str = "counting"
    throttled: bool = False  # no real network: no pacing in these tests
    fail_on_batch: int | None = None
    calls: int = 0
    seen: list = None

    def submit(self, batch):
        self.calls += 1
        self.seen = (self.seen or []) + [m.message_id for m in batch]
        if self.fail_on_batch == self.calls:
            raise ConnectionError("connection reset during submit")
        return [SubmitResult(m.message_id, accepted=True, provider_message_id="P" + m.message_id) for m in batch]


def test_a_second_run_sends_nothing_again(tmp_path, con):
    spec = make_spec(tmp_path)
    provider = CountingProvider()
    first = send(spec, con=con, provider=provider, now=AFTERNOON, provider_options=None)
    assert first["submitted"] == 40
    again = send(spec, con=con, provider=provider, now=AFTERNOON)
    assert again["submitted"] == 0
    assert len(provider.seen) == len(set(provider.seen)) == 40
    assert store.scalar(con, "SELECT count(*) FROM messages") == 40


def test_dry_run_submits_and_writes_nothing(tmp_path, con):
    spec = make_spec(tmp_path)
    provider = CountingProvider()
    result = send(spec, con=con, provider=provider, now=AFTERNOON, dry_run=True)
    assert result["would_submit"] == 40 and result["submitted"] == 0
    assert provider.calls == 0
    assert store.scalar(con, "SELECT count(*) FROM messages") == 0


def test_a_crash_during_submission_never_sends_twice_through_a_non_idempotent_provider(tmp_path, con):
    spec = make_spec(tmp_path)
    crashing = CountingProvider(fail_on_batch=2)
    with pytest.raises(ConnectionError):
        send(spec, con=con, provider=crashing, now=AFTERNOON, batch_size=10)
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'submitted'") == 10
    retry = CountingProvider()
    result = send(spec, con=con, provider=retry, now=AFTERNOON, batch_size=10)
    uncertain = set(crashing.seen[10:20])
    assert not uncertain & set(retry.seen), "a message whose submission outcome is unknown was sent again"
    assert result["interrupted"] == 10 and result["submitted"] == 20
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'unknown'") == 10


def test_the_simulator_resubmits_an_interrupted_batch_safely(tmp_path, con):
    spec = make_spec(tmp_path)
    with pytest.raises(ConnectionError):
        send(spec, con=con, provider=CountingProvider(fail_on_batch=1), now=AFTERNOON, batch_size=50)
    result = send(spec, con=con, now=AFTERNOON, provider_options={"landing": tmp_path / "landing"})
    assert result["submitted"] == 40
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'submitted'") == 40


def test_an_opted_out_recipient_is_never_sent_to(tmp_path, con):
    spec = make_spec(tmp_path)
    first = pd.read_csv(tmp_path / "audience.csv")["msisdn"].iloc[0]
    import phonenumbers

    e164 = phonenumbers.format_number(phonenumbers.parse(first, "FR"), phonenumbers.PhoneNumberFormat.E164)
    con.execute("INSERT INTO consent VALUES ('x1', ?, '36180', 'opt_out', 'reply', 'STOP', '2026-11-01')", [e164])
    provider = CountingProvider()
    result = send(spec, con=con, provider=provider, now=AFTERNOON)
    assert result["submitted"] == 39 and result["suppressed"] >= 1
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE msisdn = ?", [e164]) == 0


def test_quiet_hours_defer_then_a_later_run_sends(tmp_path, con):
    spec = make_spec(tmp_path)
    provider = CountingProvider()
    late = send(spec, con=con, provider=provider, now=LATE_EVENING)
    assert late["submitted"] == 0 and late["deferred"] == 40
    scheduled = store.scalar(con, "SELECT min(scheduled_at) FROM messages WHERE status = 'queued'")
    assert scheduled is not None and LATE_EVENING < scheduled <= NEXT_MORNING
    morning = send(spec, con=con, provider=provider, now=NEXT_MORNING)
    assert morning["submitted"] == 40 and morning["deferred"] == 0


def test_outbox_ids_and_variants_are_the_documented_hashes(tmp_path, con):
    """The vectorised outbox gives every recipient `message_id(campaign, msisdn, variant)` and
    `spec.variant_for(msisdn)`, the ids a re-run (or another tool) computes one at a time."""
    from smslab.sending import message_id

    spec = make_spec(tmp_path, n=60)
    spec = parse_spec(
        {
            **spec.to_json_dict(),
            "audience": "audience.csv",
            "message": {
                "text": "ACME: -30% aujourd'hui. STOP au 36180",
                "variants": {"B": "ACME: -20% B. STOP au 36180", "C": "ACME C. STOP au 36180"},
            },
        },
        source=str(tmp_path / "spec.yaml"),
        base_dir=tmp_path,
    )
    send(spec, con=con, provider=CountingProvider(), now=AFTERNOON)
    rows = con.execute("SELECT message_id, msisdn, variant FROM messages").fetchall()
    assert len(rows) == 60 and {v for _, _, v in rows} == {"A", "B", "C"}
    for mid, msisdn, variant in rows:
        assert variant == spec.variant_for(msisdn)
        assert mid == message_id(spec.campaign_id, msisdn, variant)
