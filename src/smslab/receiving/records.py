"""Shared pieces of the parsers: decoding callback bodies, time formats, the rows they produce.

Every parser returns `(events, replies, problems)`: delivery events and inbound messages as
dicts with the columns of `dlr_events` / `inbound` (see `event` and `reply`), and one problem
string per record it could not use, starting with where it is (`results[2]: …`).

Example:
    >>> decode_params("MessageSid=SM1&MessageStatus=sent", "application/x-www-form-urlencoded")
    {'MessageSid': 'SM1', 'MessageStatus': 'sent'}
    >>> compact_time("2001011400")
    datetime.datetime(2020, 1, 1, 14, 0)
    >>> plus("447700900123"), plus("ACME")
    ('+447700900123', 'ACME')
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

Result = tuple[list[dict], list[dict], list[str]]
FORM = "application/x-www-form-urlencoded"


def decode_params(body: str | bytes | dict, content_type: str | None = None) -> dict[str, Any]:
    """A callback's parameters from a JSON object, a form body or a query string; ValueError if neither.

    Repeated form keys keep their first value. A JSON body must be an object.
    """
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if not isinstance(body, str):
        raise ValueError(f"expected a JSON object or a form body, got {type(body).__name__}")
    text = body.strip()
    if "json" in (content_type or "").lower() or text.startswith("{"):
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("expected a JSON object")
        return doc
    if text.startswith("?"):
        text = text[1:]
    params: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)):
        params.setdefault(key, value)
    if not params:
        raise ValueError("empty body")
    return params


def text_of(value: Any) -> str | None:
    """A JSON/form scalar as text (None, '' and containers give None)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def plus(number: Any) -> str:
    """E.164 with the '+' for an all-digits international number; anything else (alphanumeric
    senders, short codes with letters) is returned as is."""
    text = (text_of(number) or "").replace(" ", "")
    return "+" + text if text.isdigit() and len(text) > 6 else (text or "")


_COMPACT = re.compile(r"^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$")


def compact_time(value: Any) -> datetime | None:
    """`YYMMDDhhmm` or `YYMMDDhhmmss` (SMPP receipts, Vonage `scts`, Twilio `RawDlrDoneDate`).

    These carry no time zone; smslab reads them as UTC (documented in docs/data-model.md).
    """
    match = _COMPACT.match(text_of(value) or "")
    if not match:
        return None
    yy, mo, dd, hh, mi, ss = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(2000 + yy, mo, dd, hh, mi, ss)
    except ValueError:
        return None


_RECEIPT_SHAPES = {10: ["%y%m%d%H%M"], 12: ["%y%m%d%H%M%S", "%Y%m%d%H%M"], 14: ["%Y%m%d%H%M%S"]}


def receipt_time(value: Any, near: datetime | None = None) -> datetime | None:
    """An SMPP receipt date in any shape gateways send: `YYMMDDhhmm` (SMPP 3.4 Appendix B),
    `YYMMDDhhmmss`, `YYYYMMDDhhmm`, `YYYYMMDDhhmmss`, with or without separators (`-`, `/`, `:`,
    `.`, spaces, `T`). Twelve digits can be read two ways (`201201140005`: 2020-12-01 14:00:05 or
    2012-01-14 00:05): the reading nearest `near` (the receive time) wins, else SMPP's own
    (with seconds). None when no reading is a real moment.

    >>> receipt_time("2612011400"), receipt_time("20261201140005")
    (datetime.datetime(2026, 12, 1, 14, 0), datetime.datetime(2026, 12, 1, 14, 0, 5))
    >>> receipt_time("202612011400"), receipt_time("26-12-01 14:00:05")
    (datetime.datetime(2026, 12, 1, 14, 0), datetime.datetime(2026, 12, 1, 14, 0, 5))
    """
    text = text_of(value)
    if text is None:
        return None
    digits = re.sub(r"[-/:.\sT]", "", text)
    if not digits.isascii() or not digits.isdigit():
        return None
    readings = []
    for shape in _RECEIPT_SHAPES.get(len(digits), []):
        try:
            readings.append(datetime.strptime(digits, shape))
        except ValueError:
            continue
    if not readings:
        return None
    if near is not None and len(readings) > 1:
        return min(readings, key=lambda moment: abs(moment - near))
    return readings[0]


def iso_time(value: Any) -> datetime | None:
    """ISO-8601 timestamps (`2026-12-01T14:00:05Z`, `+0000`, `+00:00`, a space for the T,
    or no zone, read as UTC) as UTC-naive datetimes; None when unreadable."""
    text = text_of(value)
    if not text or not isinstance(value, str):
        return None
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-7:-5].isdigit():
        text = text[:-2] + ":" + text[-2:]
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def raw_json(value: Any) -> str:
    """The record as stored in the `raw` column: JSON, keys sorted (escaped to ASCII when the
    record holds text that is not valid Unicode, such as a lone surrogate from a JSON escape)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)
    return text


_MCC_MNC = re.compile(r"[0-9]{5,6}")


def mcc_mnc(value: Any) -> str | None:
    """An operator's MCC/MNC as 5 or 6 digits (`"20801"`, `"310260"`, or an integer), else None.

    Taken as written: a value with spaces, signs or other characters is not an MCC/MNC (the
    SQL path of `receiving.fast` applies the same rule).

    >>> mcc_mnc("20801"), mcc_mnc(310260), mcc_mnc("unknown"), mcc_mnc(True)
    ('20801', '310260', None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value)
    return text if _MCC_MNC.fullmatch(text) else None


_CURRENCY = re.compile(r"[A-Z]{3}")


def money(amount: Any, currency: Any) -> tuple[float | None, str | None]:
    """(price, currency) from a JSON number and an ISO 4217 code; (None, None) unless both are
    usable: a finite number (not a boolean) and three capital letters, taken as written (the SQL
    path of `receiving.fast` applies the same rule).

    >>> money(0.01, "EUR"), money("0.01", "EUR"), money(0.01, None)
    ((0.01, 'EUR'), (None, None), (None, None))
    """
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        return None, None
    try:
        value = float(amount)
    except OverflowError:
        return None, None
    if not math.isfinite(value) or not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        return None, None
    return value, currency


def count(value: Any) -> int | None:
    """A JSON integer ≥ 1 that fits 32 bits (a part count), else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**31:
        return None
    return value


# the columns of a dlr_events row, in the table's order (what `event` fills, plus the loader's key)
EVENT_COLUMNS = [
    "event_id",
    "provider",
    "provider_message_id",
    "status",
    "raw_status",
    "error_code",
    "permanent",
    "event_at",
    "received_at",
    "source",
    "raw",
    "message_ref",
    "operator",
    "price",
    "currency",
    "parts",
    "flag",
]


def event(
    provider: str,
    provider_message_id: str,
    status: str,
    raw_status: str,
    error_code: str | None,
    permanent: bool | None,
    event_at: datetime,
    raw: Any,
    *,
    message_ref: str | None = None,
    event_key: str | None = None,
    operator: str | None = None,
    price: float | None = None,
    currency: str | None = None,
    parts: int | None = None,
    flag: str | None = None,
) -> dict:
    """One `dlr_events` row. `message_ref` is the id of the whole message when the report is about
    one part of it (Vonage `client-ref`); `event_key` replaces the event time in the dedupe key
    when the time is not a property of the report itself (Twilio); `operator` the MCC/MNC the
    report names (see `mcc_mnc`)."""
    row = {
        "provider": provider,
        "provider_message_id": provider_message_id,
        "status": status,
        "raw_status": raw_status,
        "error_code": error_code,
        "permanent": permanent,
        "event_at": event_at,
        "raw": raw if isinstance(raw, str) else raw_json(raw),
        "message_ref": message_ref or provider_message_id,
        "operator": operator,
        "price": price,
        "currency": currency,
        "parts": parts,
    }
    if flag is not None:  # why a field of this report is not what the provider sent (dlr_events.flag)
        row["flag"] = flag
    if event_key is not None:
        row["event_key"] = event_key
    return row


def reply(
    provider: str,
    provider_message_id: str,
    msisdn: str,
    recipient: str,
    text: str,
    received_at: datetime,
    raw: Any,
    **extra: Any,
) -> dict:
    """One `inbound` row (before classification). `extra` carries multipart fields
    (`concat_ref`, `concat_total`, `concat_part`) when the message is one part of several."""
    row = {
        "provider": provider,
        "provider_message_id": provider_message_id,
        "msisdn": msisdn,
        "recipient": recipient,
        "text": text,
        "received_at": received_at,
        "raw": raw if isinstance(raw, str) else raw_json(raw),
    }
    row.update(extra)
    return row
