"""Vonage (Nexmo) delivery receipts and inbound messages → delivery events and replies.

Callbacks come as a GET query string, a form POST or a JSON POST (account setting); the same
parameters in JSON lines, or rows of a Reports API CSV export, are read from files.

Careful: in a delivery receipt `msisdn` is the **recipient** and `to` is **our sender id**;
in an inbound message `msisdn` is the **sender** (the person) and `to` is our number.

Receipts carry `network-code` (the MCC/MNC of the recipient's network → `dlr_events.operator`)
and `price` (what that part cost → `dlr_events.price`, `parts` 1). The receipt names no
currency, so `dlr_events.currency` stays NULL and the message's own price is not set from it.

Long messages: Vonage splits them into parts, each with its own `messageId`, and sends one
receipt per part. A receipt's `client-ref` (echoed from the send request) names the whole
message, so it becomes the event's `message_ref`; a message counts as delivered only when
every part is (see `status_rollup.refresh_statuses`). Inbound parts (`concat=true`, `concat-ref`,
`concat-part`, `concat-total`) are joined into one reply before they are classified.

Example:
    >>> events, _, _ = parse_dlr(decode("messageId=0B01&msisdn=447700900123&to=ACME&status=delivered"
    ...                                 "&err-code=0&message-timestamp=2026-12-01+14%3A00%3A05"))
    >>> events[0]["status"], events[0]["event_at"]
    ('delivered', datetime.datetime(2026, 12, 1, 14, 0, 5))
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from smslab.receiving.records import Result, compact_time, decode_params, event, iso_time, mcc_mnc, plus, reply, text_of
from smslab.receiving.statuses import VONAGE_PERMANENT, vonage_status

PROVIDER = "vonage"


def decode(body: str | bytes | dict, content_type: str | None = None) -> dict[str, Any]:
    """The callback parameters (query string, form body or JSON object); ValueError if unparseable."""
    return decode_params(body, content_type)


def _id(params: dict) -> str | None:
    return text_of(params.get("messageId")) or text_of(params.get("message_uuid")) or text_of(params.get("message-id"))


def validate_dlr(body: str | bytes, content_type: str | None = None) -> None:
    """Raise ValueError unless the body is a callback with a messageId / message_uuid (the webhook's 400)."""
    if not _id(decode(body, content_type)):
        raise ValueError("messageId missing")


validate_inbound = validate_dlr


def _error(params: dict) -> str | None:
    error = params.get("err-code")
    if isinstance(params.get("error"), dict):  # Messages API: {"type": url, "title": 1240, "detail": …}
        error = params["error"].get("title") or params["error"].get("type")
    text = text_of(error)
    return None if text in (None, "0") else text


def price_of(value: Any) -> float | None:
    """A receipt's `price` ("The cost of the message", a decimal string such as `"0.03330000"`) as
    a number; None when missing or not a finite amount ≥ 0. Vonage's receipt names no currency.

    >>> price_of("0.03330000"), price_of(""), price_of("-1"), price_of("nan"), price_of(None)
    (0.0333, None, None, None, None)
    """
    text = text_of(value)
    if text is None or isinstance(value, bool):
        return None
    try:
        amount = float(text)
    except ValueError:
        return None
    return amount if math.isfinite(amount) and amount >= 0 else None


def parse_dlr(params: Any, *, received_at: datetime | None = None) -> Result:
    """One delivery receipt (SMS API) or status webhook (Messages API) → one delivery event."""
    if not isinstance(params, dict):
        return [], [], ["receipt: not an object of parameters"]
    pid = _id(params)
    if not pid:
        return [], [], ["receipt: messageId missing"]
    raw_status = text_of(params.get("status"))
    status = vonage_status(raw_status)
    if status is None:
        return [], [], [f"receipt: unknown status {raw_status!r}"]
    # message-timestamp: when Vonage began pushing this receipt (the same on retries);
    # scts: the carrier's YYMMDDhhmm; timestamp: Messages API (ISO)
    event_at = (
        iso_time(params.get("message-timestamp"))
        or iso_time(params.get("timestamp"))
        or compact_time(params.get("scts"))
    )
    key = None if event_at is not None else ""  # the receive time stands in: leave it out of the key
    event_at = event_at or received_at
    if event_at is None:
        return [], [], [f"receipt: bad or missing message-timestamp {params.get('message-timestamp')!r}"]
    error = _error(params)
    # an SMS API receipt is about one part (each part has its own messageId and receipt): its
    # price is that part's, in a currency the receipt does not name (left unknown)
    price = price_of(params.get("price"))
    return (
        [
            event(
                PROVIDER,
                pid,
                status,
                raw_status or "",
                error,
                error in VONAGE_PERMANENT,
                event_at,
                params,
                message_ref=text_of(params.get("client-ref")) or text_of(params.get("client_ref")),
                event_key=key,
                operator=mcc_mnc(params.get("network-code")),
                price=price,
                parts=1 if price is not None else None,
            )
        ],
        [],
        [],
    )


def parse_inbound(params: Any, *, received_at: datetime | None = None) -> Result:
    """One inbound message (or one part of a long one) → one reply."""
    if not isinstance(params, dict):
        return [], [], ["message: not an object of parameters"]
    pid = _id(params)
    sender = text_of(params.get("msisdn")) or text_of(params.get("from"))  # Messages API uses from/to
    if not pid or not sender:
        return [], [], ["message: messageId or msisdn missing"]
    at = iso_time(params.get("message-timestamp")) or iso_time(params.get("timestamp")) or received_at
    if at is None:
        return [], [], [f"message: bad or missing message-timestamp {params.get('message-timestamp')!r}"]
    body = params.get("text")
    extra: dict[str, Any] = {}
    if str(params.get("concat", "")).lower() == "true":
        try:
            part, total = int(params["concat-part"]), int(params["concat-total"])
            ref = text_of(params["concat-ref"])
        except (KeyError, TypeError, ValueError):
            return [], [], ["message: concat=true without a valid concat-ref/part/total"]
        if not ref or not 1 <= part <= total <= 255:
            return [], [], ["message: concat-part/concat-total out of range"]
        extra = {"concat_ref": ref, "concat_part": part, "concat_total": total}
    return (
        [],
        [
            reply(
                PROVIDER,
                pid,
                plus(sender),
                text_of(params.get("to")) or "",
                body if isinstance(body, str) else (text_of(body) or ""),
                at,
                params,
                **extra,
            )
        ],
        [],
    )


def _key(name: str) -> str:
    return name.replace(" ", "").replace("_", "").replace("-", "").lower()


def parse_export_row(row: dict, *, received_at: datetime | None = None) -> Result:
    """A row of a Reports API CSV export (`message_id`, `direction`, `from`, `to`, `status`,
    `error_code`, `date_received`, `date_finalized`, `client_ref`, `message_body`, …)."""
    if not isinstance(row, dict):
        return [], [], ["row: not an object"]
    f = {_key(str(k)): v for k, v in row.items()}
    pid = text_of(f.get("messageid")) or text_of(f.get("messageuuid"))
    if not pid:
        return [], [], ["row: message_id missing"]
    if (text_of(f.get("direction")) or "").lower().startswith("inbound"):
        sender, at = text_of(f.get("from")), iso_time(f.get("datereceived"))
        if not sender or at is None:
            return [], [], ["row: from or date_received missing on an inbound message"]
        body = f.get("messagebody") if isinstance(f.get("messagebody"), str) else f.get("text")
        return (
            [],
            [
                reply(
                    PROVIDER,
                    pid,
                    plus(sender),
                    text_of(f.get("to")) or "",
                    body if isinstance(body, str) else "",
                    at,
                    row,
                )
            ],
            [],
        )
    raw_status = text_of(f.get("status"))
    status = vonage_status(raw_status)
    if status is None:
        return [], [], [f"row: unknown status {raw_status!r}"]
    at = iso_time(f.get("datefinalized")) or iso_time(f.get("datereceived"))
    key = None if at is not None else ""
    at = at or received_at
    if at is None:
        return [], [], ["row: bad or missing date_finalized"]
    error = text_of(f.get("errorcode"))
    error = None if error in (None, "0") else error
    return (
        [
            event(
                PROVIDER,
                pid,
                status,
                raw_status or "",
                error,
                error in VONAGE_PERMANENT,
                at,
                row,
                message_ref=text_of(f.get("clientref")),
                event_key=key,
                operator=mcc_mnc(f.get("networkcode") or f.get("network")),
            )
        ],
        [],
        [],
    )
