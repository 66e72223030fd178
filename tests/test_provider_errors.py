"""How the HTTP providers map answers to outcomes, through httpx.MockTransport (no server).

The loopback fakes (tests/fakes/) check the wire format; these check the error mapping one answer
at a time: 429/503 and refused connections are temporary (certainly not sent), other 5xx and
timeouts are unknown, 401/403 stop the run, Twilio's documented "not now" codes are retried
later, other 4xx are permanent for the message.
"""

import httpx
import pytest

from smslab.errors import AuthenticationError, TransientError
from smslab.providers import OutboundMessage
from smslab.providers.infobip import InfobipProvider
from smslab.providers.twilio import TwilioProvider


def batch(n=3):
    return [
        OutboundMessage(f"m{i}", "c1", f"+3361234567{i}", "FR", "short_code", "36180", "hi", "GSM-7", 1)
        for i in range(n)
    ]


def answering(*answers):
    """A transport that gives `answers` in order (a response, or an exception to raise) and keeps the requests."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), seen


# --- Infobip: the batch is one request ------------------------------------------------------


def infobip(*answers):
    transport, seen = answering(*answers)
    return InfobipProvider(base_url="https://x.api.example", api_key="k", notify_url="", transport=transport), seen


def infobip_error(status, text):
    return httpx.Response(status, json={"requestError": {"serviceException": {"messageId": text, "text": text}}})


@pytest.mark.parametrize("status", [429, 503])
def test_infobip_429_and_503_are_temporary_certainly_not_sent_with_the_retry_after(status):
    provider, seen = infobip(httpx.Response(status, headers={"Retry-After": "7"}, json={}))
    with pytest.raises(TransientError) as caught:
        provider.submit(batch())
    assert (caught.value.not_sent, caught.value.retry_after) == (True, 7.0)
    assert seen[0].url == "https://x.api.example/sms/2/text/advanced"
    assert seen[0].headers["Authorization"] == "App k"


@pytest.mark.parametrize("status", [500, 502, 504])
def test_infobip_other_5xx_leave_the_outcome_unknown(status):
    provider, _ = infobip(infobip_error(status, "GENERAL_ERROR"))
    with pytest.raises(TransientError) as caught:
        provider.submit(batch())
    assert (caught.value.not_sent, caught.value.retry_after) == (False, None)
    assert str(caught.value) == f"HTTP {status} GENERAL_ERROR: GENERAL_ERROR"


def test_infobip_a_refused_connection_is_not_sent_a_timeout_is_unknown():
    provider, _ = infobip(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError) as refused:
        provider.submit(batch())
    with pytest.raises(TransientError) as slow:
        provider.submit(batch())
    assert (refused.value.not_sent, slow.value.not_sent) == (True, False)


@pytest.mark.parametrize("status", [401, 403])
def test_infobip_refused_credentials_stop_the_run(status):
    provider, _ = infobip(infobip_error(status, "UNAUTHORIZED"))
    with pytest.raises(AuthenticationError, match="check INFOBIP_API_KEY and INFOBIP_BASE_URL"):
        provider.submit(batch())


def test_infobip_other_4xx_are_permanent_for_every_message_of_the_batch():
    provider, _ = infobip(infobip_error(400, "BAD_REQUEST"))
    results = provider.submit(batch())
    assert [(r.message_id, r.status, r.permanent, r.temporary, r.error_code) for r in results] == [
        (f"m{i}", "failed", True, False, "HTTP 400 BAD_REQUEST: BAD_REQUEST") for i in range(3)
    ]


# --- Twilio: one request per message; the batch stops where the rest would meet the same answer -----


def twilio(*answers):
    transport, seen = answering(*answers)
    provider = TwilioProvider(
        account_sid="AC1", auth_token="t", base_url="https://api.example", status_callback="", transport=transport
    )
    return provider, seen


def created(sid):
    return httpx.Response(
        201, json={"sid": sid, "status": "queued", "num_segments": "1", "price": None, "price_unit": "USD"}
    )


def refused(status, code):
    return httpx.Response(status, json={"code": code, "message": f"error {code}", "status": status})


def outcome(results):
    return [(r.message_id, r.accepted, r.status, r.temporary, r.permanent) for r in results]


@pytest.mark.parametrize("status,code", [(429, 20429), (503, 20503)])
def test_twilio_429_and_503_stop_the_batch_and_send_the_rest_later(status, code):
    provider, seen = twilio(created("SM0"), refused(status, code))
    results = provider.submit(batch())
    assert outcome(results) == [
        ("m0", True, "submitted", False, False),
        ("m1", False, "queued", True, False),
        ("m2", False, "queued", True, False),
    ]
    assert len(seen) == 2 and results[2].error_code == f"HTTP {status} {code}: error {code}"
    assert seen[0].url == "https://api.example/2010-04-01/Accounts/AC1/Messages.json"


@pytest.mark.parametrize("code", [21611, 20429, 63017, 63038, 35125])
def test_twilio_documented_limits_are_retried_later_and_stop_the_batch(code):
    provider, seen = twilio(refused(400, code))
    results = provider.submit(batch())
    assert outcome(results) == [(f"m{i}", False, "queued", True, False) for i in range(3)]
    assert len(seen) == 1 and str(code) in results[0].error_code


def test_twilio_14107_holds_only_that_pair_of_numbers():
    provider, seen = twilio(refused(400, 14107), created("SM1"), created("SM2"))
    results = provider.submit(batch())
    assert outcome(results) == [
        ("m0", False, "queued", True, False),
        ("m1", True, "submitted", False, False),
        ("m2", True, "submitted", False, False),
    ]
    assert [r.provider_message_id for r in results] == [None, "SM1", "SM2"]


@pytest.mark.parametrize("code", [21211, 21610, 21408])
def test_twilio_other_4xx_are_permanent_for_that_message_only(code):
    provider, _ = twilio(refused(400, code), created("SM1"), created("SM2"))
    results = provider.submit(batch())
    assert outcome(results)[0] == ("m0", False, "failed", False, True)
    assert results[0].error_code == f"{code}: error {code}"
    assert [r.accepted for r in results[1:]] == [True, True]


def test_twilio_a_5xx_or_timeout_is_unknown_and_nothing_after_it_is_sent():
    for answer in (refused(500, 20500), httpx.ReadTimeout("slow")):
        provider, seen = twilio(answer)
        results = provider.submit(batch())
        assert outcome(results) == [
            ("m0", False, "unknown", False, False),
            ("m1", False, "queued", True, False),
            ("m2", False, "queued", True, False),
        ]
        assert len(seen) == 1


def test_twilio_a_refused_connection_sends_nothing_and_retries_later():
    provider, seen = twilio(httpx.ConnectError("refused"))
    results = provider.submit(batch())
    assert outcome(results) == [(f"m{i}", False, "queued", True, False) for i in range(3)]
    assert results[0].error_code == "Twilio unreachable: ConnectError"


@pytest.mark.parametrize("status", [401, 403])
def test_twilio_refused_credentials_stop_the_run_with_what_was_sent(status):
    provider, _ = twilio(created("SM0"), refused(status, 20003))
    with pytest.raises(AuthenticationError, match="check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN") as caught:
        provider.submit(batch())
    assert outcome(caught.value.results) == [
        ("m0", True, "submitted", False, False),
        ("m1", False, "queued", False, False),
        ("m2", False, "queued", False, False),
    ]


def test_twilio_a_created_message_answer_gives_price_and_parts_when_present():
    answer = httpx.Response(
        201, json={"sid": "SM9", "status": "sent", "num_segments": "2", "price": "-0.01500", "price_unit": "USD"}
    )
    provider, _ = twilio(answer)
    (result,) = provider.submit(batch(1))
    assert (result.provider_message_id, result.parts, result.price, result.currency) == ("SM9", 2, 0.015, "USD")


# --- Twilio List Messages (`smslab pull twilio`) --------------------------------------------


def page(sids, following):
    return httpx.Response(
        200,
        json={
            "messages": [
                {"sid": s, "status": "delivered", "direction": "outbound-api", "price": "-0.0075", "price_unit": "USD"}
                for s in sids
            ],
            "next_page_uri": following,
        },
    )


def test_twilio_pull_follows_next_page_uri_on_the_api_host_only(tmp_path):
    from datetime import date

    provider, seen = twilio(
        page(["SM1", "SM2"], "/2010-04-01/Accounts/AC1/Messages.json?Page=1&PageToken=PA2"),
        page(["SM3"], "https://elsewhere.example/steal?Page=2"),
    )
    provider.landing = tmp_path
    counts = provider.pull_messages(since=date(2026, 12, 1), until=date(2026, 12, 7), page_size=2)
    assert counts == {"messages": 3, "inbound": 0} and len(seen) == 2
    assert [str(r.url) for r in seen] == [
        "https://api.example/2010-04-01/Accounts/AC1/Messages.json?DateSent%3E=2026-12-01&DateSent%3C=2026-12-07"
        "&PageSize=2",
        "https://api.example/2010-04-01/Accounts/AC1/Messages.json?Page=1&PageToken=PA2",
    ]


def test_twilio_pull_failing_midway_says_what_is_already_in_the_journal(tmp_path):
    from datetime import date

    from smslab.errors import ProviderError

    provider, _ = twilio(
        page(["SM1", "SM2"], "/2010-04-01/Accounts/AC1/Messages.json?Page=1&PageToken=PA2"), refused(500, 20500)
    )
    provider.landing = tmp_path
    with pytest.raises(ProviderError) as caught:
        provider.pull_messages(since=date(2026, 12, 1), until=date(2026, 12, 1))
    assert str(caught.value) == (
        "Twilio https://api.example/2010-04-01/Accounts/AC1/Messages.json: "
        "HTTP 500 20500: error 20500 (2 message(s) already saved to the journal)"
    )
