"""Infobip webhook bodies → normalised delivery events and inbound messages.

Reads the legacy report shape (`from`, `smsCount`, offsets like +0000) and the v3 shape
(`sender`, `messageCount`, offsets like +00:00); neither the sender nor the part count is
needed (one Infobip report covers every part of a long message). A body is
`{"results": [...]}`; a single report object without the wrapper is accepted too.
`received_at` is accepted for a uniform parser signature; Infobip reports carry their own time.

Example:
    >>> events, replies, problems = parse_dlr({"results": [{"messageId": "m1",
    ...     "doneAt": "2019-11-09T16:00:00.000+0000",
    ...     "status": {"groupId": 3, "id": 5, "name": "DELIVERED_TO_HANDSET"}}]})
    >>> events[0]["status"], problems
    ('delivered', [])
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from smslab.receiving.records import count, iso_time, mcc_mnc, money, raw_json
from smslab.receiving.statuses import infobip_status


def parse_time(value: Any) -> datetime | None:
    """Infobip timestamps (`2019-11-09T16:00:00.000+0000` or `+00:00`) as UTC-naive datetimes."""
    return iso_time(value)


def _results(body: Any) -> list[Any]:
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return body["results"]
    if isinstance(body, dict) and "messageId" in body:
        return [body]
    raise ValueError('expected an Infobip body {"results": [...]} or a single report')


def decode(body: str | bytes | Any, content_type: str | None = None) -> Any:
    """The JSON document of a webhook body; ValueError when it is not JSON."""
    if isinstance(body, (bytes, str)):
        return json.loads(body)
    return body


def validate_dlr(body: str | bytes, content_type: str | None = None) -> None:
    """Raise ValueError unless the body is JSON shaped like a report body (the webhook's 400).

    >>> validate_dlr(b'{"results": []}')
    >>> validate_dlr(b'["a list"]')
    Traceback (most recent call last):
    ...
    ValueError: expected an Infobip body {"results": [...]} or a single report
    """
    _results(decode(body, content_type))


validate_inbound = validate_dlr


def parse_dlr(body: Any, *, received_at: Any = None) -> tuple[list[dict], list[dict], list[str]]:
    """Delivery events from a report body; problems name the item index and what is wrong."""
    events, problems = [], []
    items = _results(body)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"results[{index}]: not an object")
            continue
        status = item.get("status") or {}
        error = item.get("error") or {}
        if not isinstance(status, dict) or not isinstance(error, dict):
            problems.append(f"results[{index}]: status or error is not an object")
            continue
        normalised = infobip_status(status.get("groupId"), status.get("id"))
        if not item.get("messageId"):
            problems.append(f"results[{index}]: messageId missing")
            continue
        if normalised is None:
            problems.append(f"results[{index}]: unknown status {status!r}")
            continue
        stamp = item.get("doneAt") if item.get("doneAt") not in (None, "") else item.get("sentAt")
        event_at = parse_time(stamp)
        if event_at is None:
            problems.append(f"results[{index}]: bad or missing doneAt {item.get('doneAt')!r}")
            continue
        error_id = error.get("id")
        price_field = item.get("price")
        price: dict[str, Any] = price_field if isinstance(price_field, dict) else {}
        amount, currency = money(price.get("pricePerMessage"), price.get("currency"))
        parts = count(item.get("smsCount")) or count(item.get("messageCount"))  # legacy / v3 name
        events.append(
            {
                "provider": "infobip",
                "provider_message_id": str(item["messageId"]),
                "status": normalised,
                "raw_status": str(status.get("name") or status.get("groupName") or status.get("groupId")),
                "error_code": None if error_id in (None, 0) else str(error_id),
                "permanent": bool(error.get("permanent", False)),
                "event_at": event_at,
                "raw": raw_json(body if len(items) == 1 else item),  # as it came: one report, its whole body
                "message_ref": str(item["messageId"]),
                "operator": mcc_mnc(item.get("mccMnc")),
                "price": amount,
                "currency": currency,
                "parts": parts,
            }
        )
    return events, [], problems


def parse_inbound(body: Any, *, received_at: Any = None) -> tuple[list[dict], list[dict], list[str]]:
    """Inbound messages (MO) from an inbound body; msisdns get their '+'."""
    replies, problems = [], []
    for index, item in enumerate(_results(body)):
        if not isinstance(item, dict) or not item.get("messageId") or not item.get("from"):
            problems.append(f"results[{index}]: messageId or from missing")
            continue
        received = parse_time(item.get("receivedAt"))
        if received is None:
            problems.append(f"results[{index}]: bad or missing receivedAt {item.get('receivedAt')!r}")
            continue
        sender = str(item["from"]).strip()
        replies.append(
            {
                "provider": "infobip",
                "provider_message_id": str(item["messageId"]),
                "msisdn": sender if sender.startswith("+") else "+" + sender,
                "recipient": str(item.get("to") or ""),
                "text": str(item.get("text") or ""),
                "received_at": received,
                "raw": raw_json(item),
                # Infobip's own keyword match and the text without it, when the number has keywords
                "provider_keyword": item["keyword"]
                if isinstance(item.get("keyword"), str) and item["keyword"]
                else None,
                "clean_text": item["cleanText"] if isinstance(item.get("cleanText"), str) else None,
            }
        )
    return [], replies, problems
