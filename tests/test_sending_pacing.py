"""Throttling and backoff, on a fake clock (no sleeping, no timing)."""

from dataclasses import dataclass

import pandas as pd

from smslab.errors import TransientError
from smslab.providers import OutboundMessage, Provider, SubmitResult
from smslab.sending import DEFAULT_MPS, Pacer, backoff, sender_rates
from smslab.sending.submission import submit_with_retries


class Clock:
    def __init__(self):
        self.t = 0.0
        self.sleeps = []

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.t += seconds


def test_each_sender_is_held_to_its_own_rate():
    clock = Clock()
    pacer = Pacer({"A": 10.0, "B": 100.0, "SIM": None}, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pacer.wait("A", 10)  # 50 messages at 10/s
    assert clock.t == 4.0  # the first batch goes at once, then one batch a second
    start = clock.t
    for _ in range(5):
        pacer.wait("B", 100)
    assert clock.t - start == 4.0
    pacer.wait("SIM", 10**6)
    assert clock.t - start == 4.0  # not throttled


def test_rates_come_from_the_price_sheet_then_the_default_then_the_override():
    due = pd.DataFrame(
        {
            "sender_id": ["45678", "447700900123", "XYZ"],
            "region": ["US", "GB", "ZZ"],
            "sender_type": ["short_code", "long_code", "alphanumeric"],
        }
    )
    throttled = Provider()
    rates = sender_rates(due, throttled, None)
    assert rates["45678"] == 100.0  # US short code: 100 MPS in data/pricing/indicative.csv
    assert rates["XYZ"] == DEFAULT_MPS  # nothing known: conservative default
    assert sender_rates(due, throttled, {"XYZ": 2.5})["XYZ"] == 2.5
    assert set(sender_rates(due, throttled, 7.0).values()) == {7.0}
    assert set(sender_rates(due, Provider(throttled=False), None).values()) == {None}


@dataclass
class Flaky(Provider):
    """Answers with a scripted sequence: an exception to raise, or per-message temporary refusals."""

    script: list = None
    calls: int = 0

    def submit(self, batch):
        self.calls += 1
        step = self.script.pop(0) if self.script else None
        if isinstance(step, Exception):
            raise step
        return [
            SubmitResult(
                m.message_id,
                accepted=step != "throttle",
                status="submitted" if step != "throttle" else "queued",
                temporary=step == "throttle",
                provider_message_id="P" + m.message_id,
            )
            for m in batch
        ]


def batch(n=3):
    return [
        OutboundMessage(f"m{i}", "c", f"+3361234567{i}", "FR", "short_code", "36180", "hi", "GSM-7", 1)
        for i in range(n)
    ]


def test_temporary_failures_back_off_then_succeed():
    clock = Clock()
    provider = Flaky(script=[TransientError("HTTP 429", retry_after=3), "throttle", None])
    results, stats = submit_with_retries(provider, batch(), Pacer({}, clock=clock, sleep=clock.sleep), "s", 4)
    assert all(r.accepted for r in results) and stats["retries"] == 2 and provider.calls == 3
    assert clock.sleeps == [3.0, backoff(2)]


def test_an_uncertain_failure_is_never_retried_on_a_non_idempotent_provider():
    clock = Clock()
    provider = Flaky(script=[TransientError("HTTP 502", not_sent=False)])
    results, _ = submit_with_retries(provider, batch(), Pacer({}, clock=clock, sleep=clock.sleep), "s", 4)
    assert provider.calls == 1 and {r.status for r in results} == {"unknown"}
    provider = Flaky(script=[TransientError("HTTP 502", not_sent=False), None], idempotent=True)
    results, _ = submit_with_retries(provider, batch(), Pacer({}, clock=clock, sleep=clock.sleep), "s", 4)
    assert provider.calls == 2 and all(r.accepted for r in results)


def test_retries_run_out_and_the_messages_wait_for_a_later_run():
    clock = Clock()
    provider = Flaky(script=[TransientError("HTTP 429")] * 10)
    results, stats = submit_with_retries(provider, batch(), Pacer({}, clock=clock, sleep=clock.sleep), "s", 2)
    assert provider.calls == 3 and stats["retries"] == 2
    assert {(r.status, r.temporary) for r in results} == {("queued", True)}
    assert clock.sleeps == [backoff(1), backoff(2)]
