"""SMPP 3.4 delivery receipts (and MO messages) → delivery events and replies.

Two file shapes, one record per line:

- **plain text**: the receipt text (the `short_message` of a deliver_sm), SMPP 3.4 Appendix B:
  `id:IIIIIIIIII sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 text:…`
- **JSON lines**, one deliver_sm each (all fields optional but see below):

      {"short_message": "id:… stat:DELIVRD …", "esm_class": 4,
       "receipted_message_id": "1d305b4c",        # TLV 0x001E
       "message_state": 2,                         # TLV 0x0427: integer or stat text
       "network_error_code": "030001",            # TLV 0x0423: 3 octets as hex, or an integer
       "network_code": "20801",                    # the operator's MCC/MNC, when the SMSC sends one
       "source_addr": "447700900123", "destination_addr": "ACME",
       "received_at": "2026-12-01T14:00:05Z"}

  TLVs win over the text when both are given (Jasmin does the same). A deliver_sm whose
  `esm_class` lacks the receipt bit (0x04) and whose text is not a receipt is an MO message:
  `source_addr` is the person, `destination_addr` our number, `short_message` the text; its
  id is `message_id` when given, else a hash of the record.

Vendor variations read (wire-formats §1d): ids as UUID/hex/decimal kept as text (leading
zeros matter; a receipt whose id is the decimal form of a hex submit id, or the other way
round, is matched to its message by `status_rollup.refresh_statuses`), dates of 10, 12 or 14 digits
with or without separators (`records.receipt_time`; one that cannot be read leaves the status
loaded with the receive time as event time and a `flag` saying so), `text:` or `Text:`, text
empty or missing, `sub`/`dlvrd`
missing or unpadded, `err` unpadded or long, trailing spaces, and a non-Appendix-B text with
the data in TLVs. Receipt dates carry no zone and are read as UTC. An `err` of all zeros
means no error. SMPP has no permanent flag: `permanent` is left empty.

Example:
    >>> events, _, _ = parse_line("id:0221067780 sub:001 dlvrd:001 submit date:2012011200 "
    ...                           "done date:2012011201 stat:DELIVRD err:000 text:Hello")
    >>> events[0]["provider_message_id"], events[0]["status"], events[0]["error_code"]
    ('0221067780', 'delivered', None)
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from smslab.receiving.records import Result, event, iso_time, mcc_mnc, plus, receipt_time, reply, text_of
from smslab.receiving.statuses import SMPP_STATE, smpp_status

PROVIDER = "smpp"
_FIELD = re.compile(r"(?i)(?:^|\s)(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text)\s*:")


def parse_receipt_text(text: str) -> dict[str, str]:
    """The fields of a receipt text, keys lower-case with `_` (`done_date`); `text` is everything
    after the first `text:`. Fields absent from the text are absent from the dict.

    >>> parse_receipt_text("id:7 sub:1 dlvrd:1 stat:DELIVRD err:0 Text:")["text"]
    ''
    """
    fields: dict[str, str] = {}
    marks = list(_FIELD.finditer(text or ""))
    for index, mark in enumerate(marks):
        name = mark.group(1).lower().replace(" ", "_")
        if name in fields:
            continue
        if name == "text":
            fields["text"] = text[mark.end() :].strip()
            break
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        fields[name] = text[mark.end() : end].strip()
    return fields


def is_receipt_text(text: Any) -> bool:
    """True when the text looks like an Appendix B receipt (an `id:` and a `stat:` field)."""
    fields = parse_receipt_text(text) if isinstance(text, str) else {}
    return bool(fields.get("id")) and "stat" in fields


def _network_error(value: Any) -> str | None:
    """TLV 0x0423 (network type octet + 2-octet error) as the error number; ints kept as they are."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if value == 0 else str(value)
    text = text_of(value)
    if text and re.fullmatch(r"[0-9A-Fa-f]{6}", text):
        code = int(text[2:], 16)
        return None if code == 0 else str(code)
    return None if text is None or text.strip("0") == "" else text


def _receipt(fields: dict[str, str], tlv: dict, raw: Any, received_at: datetime | None) -> Result:
    pid = text_of(tlv.get("receipted_message_id")) or fields.get("id") or None
    if not pid:
        return [], [], ["receipt: no message id (neither receipted_message_id nor id:)"]
    state = tlv.get("message_state")
    if state is not None and not isinstance(state, bool):
        if isinstance(state, str) and state.strip().isdigit():
            state = int(state)
        raw_status = SMPP_STATE.get(state, str(state)) if isinstance(state, int) else str(state).strip().upper()
    else:
        raw_status = (fields.get("stat") or "").upper()
    status = smpp_status(raw_status)
    if status is None:
        return [], [], [f"receipt: unknown stat {raw_status!r}"]
    done = fields.get("done_date")
    event_at = receipt_time(done, received_at)
    flag = None
    if done and event_at is None:
        # the status still counts: the receive time stands in, and the row says so
        flag = f"done date {done!r} unreadable: event_at is the time the receipt was received"
    # without a (readable) done date the receive time stands in, and the dedupe key leaves time out
    key = None if event_at is not None else ""
    event_at = event_at or received_at
    if event_at is None:
        return [], [], [f"receipt: bad or missing done date {done!r}, and no receive time"]
    if "network_error_code" in tlv:
        error = _network_error(tlv.get("network_error_code"))
    else:
        err = fields.get("err")
        error = None if not err or err.strip("0") == "" else err
    # SMPP 3.4 has no operator field; some SMSCs add the MCC/MNC as a vendor TLV, journalled as
    # `network_code` (or `mcc_mnc`)
    operator = mcc_mnc(tlv.get("network_code")) or mcc_mnc(tlv.get("mcc_mnc"))
    return (
        [
            event(
                PROVIDER,
                pid,
                status,
                raw_status,
                error,
                None,
                event_at,
                raw,
                event_key=key,
                operator=operator,
                flag=flag,
            )
        ],
        [],
        [],
    )


def parse_line(line: str, *, received_at: datetime | None = None) -> Result:
    """One line of an SMPP file: a JSON deliver_sm or a plain receipt text."""
    text = line.strip()
    if text.startswith("{"):
        try:
            pdu = json.loads(text)
        except ValueError as exc:
            return [], [], [f"line: malformed JSON: {exc}"]
        return parse_pdu(pdu, received_at=received_at)
    if not is_receipt_text(text):
        return [], [], ["receipt: not an SMPP receipt text (needs id: and stat:)"]
    return _receipt(parse_receipt_text(text), {}, {"short_message": text}, received_at)


def parse_pdu(pdu: Any, *, received_at: datetime | None = None) -> Result:
    """One deliver_sm as a JSON object (see the module docs)."""
    if not isinstance(pdu, dict):
        return [], [], ["pdu: not a JSON object"]
    short = pdu.get("short_message")
    short = short if isinstance(short, str) else ""
    at = iso_time(pdu.get("received_at")) or received_at
    esm = pdu.get("esm_class")
    receipt_bit = isinstance(esm, int) and not isinstance(esm, bool) and bool(esm & 0x04)
    has_tlv = any(k in pdu for k in ("receipted_message_id", "message_state"))
    if receipt_bit or has_tlv or is_receipt_text(short):
        return _receipt(parse_receipt_text(short), pdu, pdu, at)
    sender = text_of(pdu.get("source_addr"))
    if not sender:
        return [], [], ["pdu: neither a receipt nor an MO message with source_addr"]
    if at is None:
        return [], [], ["pdu: MO message without received_at"]
    pid = (
        text_of(pdu.get("message_id"))
        or "mo-" + hashlib.sha1(json.dumps(pdu, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:24]
    )
    return [], [reply(PROVIDER, pid, plus(sender), text_of(pdu.get("destination_addr")) or "", short, at, pdu)], []
