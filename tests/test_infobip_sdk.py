"""Infobip's own Python client (infobip-api-python-client, a dev extra) against smslab: reports and
replies built by the SDK's models are accepted, stored and mapped; the requests smslab sends are
read by the SDK's models with the same values; callbacks without the webhook credentials, cut
bodies and replays add nothing. Infobip does not sign callbacks: basic auth is the check."""

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from infobip_api_client import ApiClient, Configuration, SmsApi
from infobip_api_client.exceptions import BadRequestException, UnauthorizedException
from infobip_api_client.models import (
    MessagePrice,
    SmsDeliveryReport,
    SmsDeliveryResult,
    SmsDestination,
    SmsInboundMessage,
    SmsInboundMessageResult,
    SmsMessage,
    SmsMessageContent,
    SmsMessageDeliveryReporting,
    SmsMessageError,
    SmsMessageOptions,
    SmsMessageStatus,
    SmsRequest,
    SmsRequestSchedulingSettings,
    SmsResponse,
    SmsTextContent,
    SmsWebhooks,
    ValidityPeriod,
)

from fakes.campaign import make_spec
from fakes.infobip import FakeInfobip
from smslab import store
from smslab.providers.infobip import InfobipProvider
from smslab.receiving.journal import journal_files
from smslab.receiving.journal_load import load
from smslab.receiving.webhooks import Settings, create_app
from smslab.sending import send

AFTERNOON = datetime(2026, 12, 1, 14, 0)  # 15:00 in Paris
CET = timezone(timedelta(hours=1))
USER, PASSWORD = "hook", "s3cret"


def wire(model) -> bytes:
    """The JSON the SDK puts on the wire for a model: ApiClient.sanitize_for_serialization (the
    models' own to_json() cannot encode their datetimes), camelCase aliases, None left out."""
    return json.dumps(ApiClient().sanitize_for_serialization(model)).encode()


def delivered(message_id="ib-d1") -> SmsDeliveryReport:
    return SmsDeliveryReport(
        bulk_id="BULK-7",
        message_id=message_id,
        to="41793026727",
        sender="InfoSMS",
        sent_at=datetime(2026, 12, 1, 15, 0, 0, 0, tzinfo=CET),
        done_at=datetime(2026, 12, 1, 15, 0, 5, 123000, tzinfo=CET),  # 14:00:05.123 UTC
        message_count=2,
        mcc_mnc="22801",
        callback_data="our-ref",
        price=MessagePrice(price_per_message=0.0235, currency="CHF"),
        status=SmsMessageStatus(group_id=3, group_name="DELIVERED", id=5, name="DELIVERED_TO_HANDSET"),
        error=SmsMessageError(group_id=0, group_name="OK", id=0, name="NO_ERROR", permanent=False),
    )


def undeliverable() -> SmsDeliveryReport:
    return SmsDeliveryReport(
        message_id="ib-u1",
        to="41793026728",
        sender="InfoSMS",
        done_at=datetime(2026, 12, 1, 14, 1, tzinfo=UTC),
        message_count=1,
        mcc_mnc="22803",
        price=MessagePrice(price_per_message=0.0, currency="EUR"),
        status=SmsMessageStatus(group_id=2, group_name="UNDELIVERABLE", id=9, name="UNDELIVERABLE_NOT_DELIVERED"),
        error=SmsMessageError(
            group_id=1, group_name="HANDSET_ERRORS", id=27, name="EC_ABSENT_SUBSCRIBER", permanent=True
        ),
    )


def stop_reply() -> SmsInboundMessage:
    return SmsInboundMessage(
        message_id="mo-1",
        var_from="41793026727",
        to="41799990000",
        text="STOP",
        clean_text="",
        keyword="STOP",
        received_at=datetime(2026, 12, 1, 15, 10, tzinfo=CET),
        sms_count=1,
        price=MessagePrice(price_per_message=0.0, currency="EUR"),
    )


def asgi(app, path: str, body: bytes, auth: str | None = None) -> int:
    """One POST through smslab's webhook app (ASGI, no server); its status code."""
    sent: list[dict] = []
    headers = [(b"content-type", b"application/json")]
    if auth is not None:
        headers.append((b"authorization", auth.encode()))

    async def run() -> None:
        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def reply(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b""}
        await app(dict(scope, scheme="http", server=("127.0.0.1", 8700)), receive, reply)
        if app.committer is not None:
            await app.committer.stop()
            app.committer = None

    asyncio.run(run())
    return sent[0]["status"]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def journalled(landing) -> int:
    return sum(len(p.read_text().splitlines()) for p in journal_files(landing))


# ---- 1. reports and replies built by the SDK: accepted, stored, mapped ---------------------------


def test_sdk_built_reports_and_replies_are_stored_and_mapped(tmp_path, con):
    landing = tmp_path / "landing"
    app = create_app(landing=landing, settings=Settings())
    assert asgi(app, "/infobip/dlr", wire(SmsDeliveryResult(results=[delivered(), undeliverable()]))) == 200
    inbound = SmsInboundMessageResult(results=[stop_reply()], message_count=1, pending_message_count=0)
    assert asgi(app, "/infobip/inbound", wire(inbound)) == 200
    assert load(con=con, landing=landing) == {"loaded": 3, "duplicates": 0, "quarantined": 0}
    rows = con.execute(
        "SELECT provider, provider_message_id, status, raw_status, error_code, permanent, event_at,"
        " price, currency, parts, operator FROM dlr_events ORDER BY provider_message_id"
    ).fetchall()
    assert rows == [
        (
            "infobip",
            "ib-d1",
            "delivered",
            "DELIVERED_TO_HANDSET",
            None,
            False,
            datetime(2026, 12, 1, 14, 0, 5, 123000),
            0.0235,
            "CHF",
            2,
            "22801",
        ),
        (
            "infobip",
            "ib-u1",
            "undelivered",
            "UNDELIVERABLE_NOT_DELIVERED",
            "27",
            True,
            datetime(2026, 12, 1, 14, 1),
            0.0,
            "EUR",
            1,
            "22803",
        ),
    ]
    reply = con.execute(
        "SELECT provider_message_id, msisdn, recipient, text, keyword, intent, provider_keyword, clean_text,"
        " received_at FROM inbound"
    ).fetchall()
    assert reply == [
        ("mo-1", "+41793026727", "+41799990000", "STOP", "STOP", "opt_out", "STOP", "", datetime(2026, 12, 1, 14, 10))
    ]
    assert con.execute("SELECT msisdn, action FROM consent").fetchall() == [("+41793026727", "opt_out")]


def test_a_single_sdk_report_without_the_results_wrapper(tmp_path, con):
    """smslab also takes one report without the `results` wrapper: the SDK's SmsDeliveryReport alone."""
    landing = tmp_path / "landing"
    assert asgi(create_app(landing=landing, settings=Settings()), "/infobip/dlr", wire(delivered("ib-one"))) == 200
    assert load(con=con, landing=landing)["loaded"] == 1
    assert con.execute("SELECT status, price, operator FROM dlr_events").fetchall() == [("delivered", 0.0235, "22801")]


# ---- smslab pull infobip: pages the SDK reads are the pages smslab pulls ---------------------


def test_pulled_sdk_pages_are_loaded_and_the_sdk_reads_the_fake_inbox(tmp_path, con):
    """The fake hands out reports and replies built by the SDK's models; smslab pulls and loads
    them; the SDK's own client, pointed at the fake, reads the inbox page as Infobip's answer."""
    with FakeInfobip(api_key="sdk-key") as fake:
        fake.pending_reports.extend(ApiClient().sanitize_for_serialization([delivered(), undeliverable()]))
        fake.pending_inbound.append(ApiClient().sanitize_for_serialization(stop_reply()))

        provider = InfobipProvider(base_url=fake.url, api_key="sdk-key", landing=tmp_path / "landing")
        try:
            assert provider.pull_reports(limit=10) == 2
            assert provider.pull_inbound(limit=10) == 1
        finally:
            provider.close()
        assert load(con=con, landing=tmp_path / "landing")["loaded"] == 3
        assert con.execute(
            "SELECT provider_message_id, status, error_code, price FROM dlr_events ORDER BY 1"
        ).fetchall() == [("ib-d1", "delivered", None, 0.0235), ("ib-u1", "undelivered", "27", 0.0)]
        assert con.execute("SELECT msisdn, intent FROM inbound").fetchall() == [("+41793026727", "opt_out")]

        fake.add_reply("41793026729", "InfoSMS", "Deal please")
        with ApiClient(Configuration(host=fake.url, api_key="sdk-key", api_key_prefix="App")) as client:
            page = SmsApi(client).get_inbound_sms_messages(limit=5)
        assert isinstance(page, SmsInboundMessageResult) and page.pending_message_count == 0
        assert [(m.var_from, m.to, m.keyword, m.clean_text) for m in page.results] == [
            ("41793026729", "InfoSMS", "DEAL", "please")
        ]
        assert fake.problems == []


# ---- 2. the requests smslab sends, read by the SDK's models -------------------------------------


def test_the_sdk_reads_every_field_smslab_sends(tmp_path, con, monkeypatch):
    """SDK 6 models the v3 send API (`/sms/3/messages`); smslab posts the v2 `/sms/2/text/advanced`
    body. The destination object is the same in both and is read as is; each other field is read
    by the SDK model that holds it in v3 (from → sender, text → content.text, notifyUrl →
    webhooks.delivery.url, ...): every value smslab sends must pass the SDK's types and come back
    unchanged."""
    with FakeInfobip(api_key="sdk-key") as fake:
        monkeypatch.setenv("INFOBIP_BASE_URL", fake.url)
        monkeypatch.setenv("INFOBIP_API_KEY", "sdk-key")
        monkeypatch.setenv("SMSLAB_PUBLIC_URL", "https://hooks.example.org/")
        spec = make_spec(tmp_path, send_at="2026-12-02T08:30:00+00:00")  # a Wednesday, 09:30 in Paris
        result = send(spec, con=con, provider="infobip", now=AFTERNOON, throughput=10_000.0, batch_size=15)
        assert result["submitted"] == 40 and fake.problems == []
        messages = [m for body in fake.bodies for m in body["messages"]]
    assert len(messages) == 40
    for m in messages:
        assert set(m) == {
            "from",
            "destinations",
            "text",
            "callbackData",
            "notifyUrl",
            "notifyContentType",
            "sendAt",
            "validityPeriod",
        }
        for d in m["destinations"]:
            assert SmsDestination.from_dict(d).to_dict() == d  # to, messageId: read as sent
        v3 = {
            "sender": m["from"],
            "destinations": m["destinations"],
            "content": {"text": m["text"]},
            "options": {"validityPeriod": {"amount": m["validityPeriod"], "timeUnit": "MINUTES"}},
            "webhooks": {
                "delivery": {"url": m["notifyUrl"]},
                "contentType": m["notifyContentType"],
                "callbackData": m["callbackData"],
            },
        }
        read = SmsMessage.from_dict(v3)
        assert read.sender == m["from"] == "36180"
        assert read.content.actual_instance.text == m["text"]
        assert read.webhooks.delivery.url == "https://hooks.example.org/infobip/dlr"
        assert read.webhooks.content_type == "application/json"
        assert read.webhooks.callback_data == m["destinations"][0]["messageId"]
        assert read.options.validity_period.amount == 2880
        assert read.to_dict() == v3
        when = SmsRequestSchedulingSettings.from_dict({"sendAt": m["sendAt"]}).send_at
        assert when == datetime(2026, 12, 2, 8, 30, tzinfo=UTC)  # 09:30 Paris


def test_the_same_message_built_by_the_sdk_is_accepted_and_carries_the_same_values(tmp_path, con, monkeypatch):
    """The SDK's client, pointed at the fake, sends the message smslab sent (v3 request built
    from the SDK's models); the fake accepts it as Infobip documents it, the SDK reads the
    answer, and each field holds what smslab's v2 request holds."""
    with FakeInfobip(api_key="sdk-key") as fake:
        monkeypatch.setenv("INFOBIP_BASE_URL", fake.url)
        monkeypatch.setenv("INFOBIP_API_KEY", "sdk-key")
        monkeypatch.setenv("SMSLAB_PUBLIC_URL", "https://hooks.example.org/")
        assert (
            send(make_spec(tmp_path, n=2), con=con, provider="infobip", now=AFTERNOON, throughput=10_000.0)["submitted"]
            == 2
        )
        ours = fake.bodies[0]["messages"][0]
        again = ours["destinations"][0]["messageId"] + "-sdk"
        request = SmsRequest(
            messages=[
                SmsMessage(
                    sender="36180",
                    destinations=[SmsDestination(to=ours["destinations"][0]["to"], message_id=again)],
                    content=SmsMessageContent(SmsTextContent(text=ours["text"])),
                    options=SmsMessageOptions(validity_period=ValidityPeriod(amount=2880, time_unit="MINUTES")),
                    webhooks=SmsWebhooks(
                        delivery=SmsMessageDeliveryReporting(url="https://hooks.example.org/infobip/dlr"),
                        content_type="application/json",
                        callback_data=again,
                    ),
                )
            ]
        )
        with ApiClient(Configuration(host=fake.url, api_key="sdk-key", api_key_prefix="App")) as client:
            answer = SmsApi(client).send_sms_messages(request)
            assert fake.problems == [] and len(fake.bodies_v3) == 1
            # the fake checks v3 requests as Infobip documents them: 49 hours of validity is refused
            request.messages[0].options.validity_period = ValidityPeriod(amount=49, time_unit="HOURS")
            with pytest.raises(BadRequestException):
                SmsApi(client).send_sms_messages(request)
            with pytest.raises(UnauthorizedException):
                SmsApi(
                    ApiClient(Configuration(host=fake.url, api_key="wrong", api_key_prefix="App"))
                ).send_sms_messages(request)
        assert len(fake.bodies_v3) == 1 and fake.problems == ["messages[0].options.validityPeriod: at most 48 hours"]
    assert isinstance(answer, SmsResponse)
    assert [(m.message_id, m.status.group_name, m.destination) for m in answer.messages] == [
        (again, "PENDING", ours["destinations"][0]["to"])
    ]
    sdk = fake.bodies_v3[0]["messages"][0]
    assert sdk["sender"] == ours["from"]
    assert sdk["destinations"][0]["to"] == ours["destinations"][0]["to"]
    assert sdk["content"]["text"] == ours["text"] == "ACME: -30% aujourd'hui. STOP au 36180"
    assert sdk["webhooks"] == {
        "delivery": {"url": ours["notifyUrl"]},
        "contentType": ours["notifyContentType"],
        "callbackData": again,
    }
    assert sdk["options"] == {"validityPeriod": {"amount": ours["validityPeriod"], "timeUnit": "MINUTES"}}


# ---- 3. refused: no credentials, wrong credentials, a cut body; a replay adds nothing -----------


def test_callbacks_without_the_webhook_credentials_or_cut_are_refused_and_replays_add_nothing(tmp_path, con):
    landing = tmp_path / "landing"
    app = create_app(landing=landing, settings=Settings(webhook_user=USER, webhook_password=PASSWORD))
    body = wire(SmsDeliveryResult(results=[delivered()]))
    assert asgi(app, "/infobip/dlr", body) == 401
    assert asgi(app, "/infobip/dlr", body, basic(USER, "guess")) == 401
    assert asgi(app, "/infobip/dlr", body, basic("other", PASSWORD)) == 401
    assert asgi(app, "/infobip/inbound", wire(SmsInboundMessageResult(results=[stop_reply()]))) == 401
    assert journalled(landing) == 0
    # a body the SDK would not produce: the report cut short
    assert asgi(app, "/infobip/dlr", body[: len(body) // 2], basic(USER, PASSWORD)) == 400
    assert asgi(app, "/infobip/dlr", body[:-1], basic(USER, PASSWORD)) == 400
    assert journalled(landing) == 0
    reply = wire(SmsInboundMessageResult(results=[stop_reply()]))
    assert asgi(app, "/infobip/dlr", body, basic(USER, PASSWORD)) == 200
    assert asgi(app, "/infobip/inbound", reply, basic(USER, PASSWORD)) == 200
    assert load(con=con, landing=landing) == {"loaded": 2, "duplicates": 0, "quarantined": 0}
    # Infobip signs nothing, so a replayed callback is a valid one; the loader counts it a duplicate
    assert asgi(app, "/infobip/dlr", body, basic(USER, PASSWORD)) == 200
    assert asgi(app, "/infobip/inbound", reply, basic(USER, PASSWORD)) == 200
    assert load(con=con, landing=landing) == {"loaded": 0, "duplicates": 2, "quarantined": 0}
    assert store.scalar(con, "SELECT count(*) FROM dlr_events") == 1
    assert store.scalar(con, "SELECT count(*) FROM inbound") == 1
    assert con.execute("SELECT msisdn, action FROM consent").fetchall() == [("+41793026727", "opt_out")]
