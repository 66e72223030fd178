"""Twilio status callbacks and inbound messages → delivery events and replies.

Webhooks are form-encoded (`MessageSid=SM…&MessageStatus=delivered&ErrorCode=…`); files are
JSON lines of the same parameters, or rows of a message export (console CSV or Bulk Export
JSON lines: `sid`, `status`, `direction`, `date_sent`, `error_code`, …; header names are
matched ignoring case, spaces and underscores).

A status callback has no timestamp of its own. The event time is `RawDlrDoneDate` (the
carrier's `YYMMDDhhmm`, read as UTC) when present, else the time the callback was received;
so that a callback Twilio retries later is still one event, its dedupe key is
(MessageSid, MessageStatus, ErrorCode, RawDlrDoneDate) without the receive time.

Example:
    >>> events, _, problems = parse_dlr(decode("MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30006"),
    ...                                 received_at=datetime(2026, 12, 1, 14))
    >>> events[0]["status"], events[0]["error_code"], events[0]["permanent"], problems
    ('undelivered', '30006', True, [])
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from smslab.receiving.records import Result, compact_time, decode_params, event, iso_time, money, plus, reply, text_of
from smslab.receiving.statuses import TWILIO_PERMANENT, twilio_status

PROVIDER = "twilio"


def decode(body: str | bytes | dict, content_type: str | None = None) -> dict[str, Any]:
    """The callback parameters (form body, query string or JSON object); ValueError if unparseable."""
    return decode_params(body, content_type)


def _sid(params: dict) -> str | None:
    return text_of(params.get("MessageSid")) or text_of(params.get("SmsSid")) or text_of(params.get("SmsMessageSid"))


def validate_dlr(body: str | bytes, content_type: str | None = None) -> None:
    """Raise ValueError unless the body is a status callback with a MessageSid (the webhook's 400)."""
    if not _sid(decode(body, content_type)):
        raise ValueError("MessageSid missing")


validate_inbound = validate_dlr


def _stamp(params: dict, received_at: datetime | None) -> datetime | None:
    for key in ("Timestamp", "received_at", "ReceivedAt"):
        moment = iso_time(params.get(key))
        if moment is not None:
            return moment
    return received_at


def parse_dlr(params: Any, *, received_at: datetime | None = None) -> Result:
    """One status callback → one delivery event (or a problem). A page of the List Messages
    answer (`{"messages": [...]}`, what `smslab pull twilio` journals) or one Message resource
    (`sid`, `status`, `price`…) is read with `parse_export_row`, resource by resource."""
    if not isinstance(params, dict):
        return [], [], ["callback: not an object of parameters"]
    if isinstance(params.get("messages"), list) and not _sid(params):
        return _page(params["messages"], received_at)
    if not _sid(params) and ("sid" in params or "Sid" in params):
        return parse_export_row(params, received_at=received_at)
    sid = _sid(params)
    raw_status = text_of(params.get("MessageStatus")) or text_of(params.get("SmsStatus"))
    if not sid:
        return [], [], ["callback: MessageSid missing"]
    status = twilio_status(raw_status)
    if status is None:
        return [], [], [f"callback: unknown status {raw_status!r}"]
    done = text_of(params.get("RawDlrDoneDate"))
    event_at = compact_time(done) or _stamp(params, received_at)
    if event_at is None:
        return [], [], ["callback: no event time (no RawDlrDoneDate and no receive time)"]
    error = text_of(params.get("ErrorCode"))
    error = None if error in (None, "0") else error
    return (
        [
            event(
                PROVIDER,
                sid,
                status,
                raw_status or "",
                error,
                error in TWILIO_PERMANENT,
                event_at,
                params,
                event_key=done or "",
            )
        ],
        [],
        [],
    )


def parse_inbound(params: Any, *, received_at: datetime | None = None) -> Result:
    """One inbound webhook → one reply (From is the person, To is our number)."""
    if not isinstance(params, dict):
        return [], [], ["message: not an object of parameters"]
    sid, sender = _sid(params), text_of(params.get("From"))
    if not sid or not sender:
        return [], [], ["message: MessageSid or From missing"]
    at = _stamp(params, received_at)
    if at is None:
        return [], [], ["message: no receive time"]
    body = params.get("Body")
    return (
        [],
        [
            reply(
                PROVIDER,
                sid,
                plus(sender),
                text_of(params.get("To")) or "",
                body if isinstance(body, str) else (text_of(body) or ""),
                at,
                params,
                media_urls=media_urls(params),
            )
        ],
        [],
    )


def media_urls(params: dict) -> str | None:
    """MMS media as a JSON list: MediaUrl0…MediaUrl{NumMedia-1} in order (any MediaUrlN given,
    when NumMedia is missing); None without media."""
    import json
    import re

    numbered = sorted(
        (int(m.group(1)), v)
        for k, v in params.items()
        if (m := re.fullmatch(r"MediaUrl(\d+)", str(k))) and isinstance(v, str) and v
    )
    return json.dumps([url for _, url in numbered]) if numbered else None


def _page(resources: list, received_at: datetime | None) -> Result:
    events: list[dict] = []
    replies: list[dict] = []
    problems: list[str] = []
    for index, resource in enumerate(resources):
        e, r, p = parse_export_row(resource, received_at=received_at)
        events += e
        replies += r
        problems += [f"messages[{index}]: {text}" for text in p]
    return events, replies, problems


def _key(name: str) -> str:
    return name.replace(" ", "").replace("_", "").lower()


def _when(value: Any) -> datetime | None:
    """ISO 8601 (Bulk Export) or RFC 2822 (`Mon, 01 Dec 2026 14:00:05 +0000`, the REST API), as UTC."""
    moment = iso_time(value)
    if moment is not None or not isinstance(value, str) or "," not in value:
        return moment
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def price_of(fields: dict) -> tuple[float | None, str | None, int | None]:
    """(price per part, currency, parts) of a Message resource whose keys went through `_key`.

    Twilio writes what a message cost as a negative string (`"-0.02250"`, the debit) in
    `price_unit`, for the whole message; smslab keeps costs positive, per part, like Infobip's
    reports: |price| / num_segments, with num_segments as the parts (1 when Twilio gives none,
    so that the product stays the message's price). `price: null` (not priced yet): unknown.

    >>> price_of({"price": "-0.02250", "priceunit": "USD", "numsegments": "3"})
    (0.0075, 'USD', 3)
    >>> price_of({"price": None, "priceunit": "USD", "numsegments": "1"})
    (None, None, 1)
    """
    parts = text_of(fields.get("numsegments"))
    count = int(parts) if parts and parts.isdigit() and 0 < int(parts) < 2**31 else None
    text = text_of(fields.get("price"))
    try:
        amount = abs(float(text)) if text is not None else None
    except ValueError:
        amount = None
    price, currency = money(amount, text_of(fields.get("priceunit")))
    if price is None:
        return None, None, count
    return round(price / (count or 1), 10), currency, count or 1


def parse_export_row(row: dict, *, received_at: datetime | None = None) -> Result:
    """A row of a message export (console CSV or Bulk Export): inbound rows are replies,
    outbound rows the status the message had when exported."""
    if not isinstance(row, dict):
        return [], [], ["row: not an object"]
    fields = {_key(str(k)): v for k, v in row.items()}
    sid = text_of(fields.get("sid")) or text_of(fields.get("messagesid"))
    if not sid:
        return [], [], ["row: Sid missing"]
    when = (
        _when(fields.get("dateupdated"))
        or _when(fields.get("datesent"))
        or _when(fields.get("sentdate"))
        or _when(fields.get("datecreated"))
    )
    direction = (text_of(fields.get("direction")) or "").lower()
    if direction.startswith("inbound"):
        sender = text_of(fields.get("from"))
        if not sender or when is None:
            return [], [], ["row: From or date missing on an inbound message"]
        body = fields.get("body")
        return (
            [],
            [
                reply(
                    PROVIDER,
                    sid,
                    plus(sender),
                    text_of(fields.get("to")) or "",
                    body if isinstance(body, str) else "",
                    when,
                    row,
                )
            ],
            [],
        )
    raw_status = text_of(fields.get("status"))
    status = twilio_status(raw_status)
    if status is None:
        return [], [], [f"row: unknown status {raw_status!r}"]
    when = when or received_at
    if when is None:
        return [], [], ["row: bad or missing date"]
    error = text_of(fields.get("errorcode"))
    error = None if error in (None, "0") else error.removesuffix(".0")
    price, currency, parts = price_of(fields)
    # a row read again once Twilio has priced it is a new event (its price would be lost otherwise)
    key = "" if price is None else f"price {text_of(fields.get('price'))} {currency}"
    return (
        [
            event(
                PROVIDER,
                sid,
                status,
                raw_status or "",
                error,
                error in TWILIO_PERMANENT,
                when,
                row,
                event_key=key,
                price=price,
                currency=currency,
                parts=parts,
            )
        ],
        [],
        [],
    )
