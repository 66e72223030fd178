"""The registry of incoming formats: one entry per format, read by everything that receives.

Each `Format` names its parsers (one JSON record, one CSV row, one line of text, a webhook
body per kind), the file kinds it accepts, how to recognise it (JSON keys, CSV header, a
line of text) and its webhook routes. `detect` (the `ingest` default, `--format auto`), the
file loader (`receiving.file_ingest`), the journal loader (`receiving.journal_load`, through
`body_parser`), the CLI's `ingest --format` choices (`choices()`) and the routes of
`smslab serve` (`receiving.webhooks`) all read `FORMATS`: a new format is one entry here.

The order of `FORMATS` is the order `detect` tries them in.

Example:
    >>> choices()
    ('auto', 'journal', 'csv', 'twilio', 'vonage', 'smpp', 'infobip')
    >>> from pathlib import Path
    >>> detect(Path("r.jsonl"), '{"MessageSid": "SM1", "MessageStatus": "delivered"}')
    'twilio'
    >>> FORMATS["infobip"].routes["/infobip/dlr"]
    (('POST',), 'dlr')
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from smslab.errors import InputError
from smslab.receiving import generic, infobip, smpp, twilio, vonage
from smslab.receiving.records import Result

# parse(body: str, content_type: str | None, received_at: datetime | None) -> (events, replies, problems)
BodyParser = Callable[[str, "str | None", "datetime | None"], Result]
# parse(record, received_at) -> (events, replies, problems): one JSON document, CSV row or line of text
RecordParser = Callable[[Any, datetime], Result]
FILE_KINDS = ("json", "jsonl", "csv", "text")  # one JSON document, JSON lines, CSV with a header, lines of text


@dataclass(frozen=True)
class Format:
    """One incoming format: how to recognise it, parse it, and where its webhooks arrive.

    `json_record`, `csv_row`, `text_line`: parsers of one record of a file (a file is read as
    CSV when the format has `csv_row` and either no `json_record` or a first line that is no
    JSON object). `bodies`: kind (dlr | inbound) → parser of a journalled webhook body.
    `routes`: webhook path → (HTTP methods, kind). `fast`: the mode of the SQL path
    (`receiving.fast`) its lines try first. `envelopes`: the file is landing-zone journal lines.
    `validate`: raises ValueError for a webhook body not of this format (the webhook's 400).
    """

    name: str
    file_kinds: tuple[str, ...]
    json_keys: frozenset[str] = frozenset()  # any of these at the top of a JSON line
    json_all_keys: frozenset[str] = frozenset()  # all of these at the top of a JSON line
    csv_header: Callable[[set[str]], bool] | None = None  # header names, lower case, no spaces or '_'
    text_head: Callable[[str], bool] | None = None  # the first line of text
    csv_default: bool = False  # a `.csv` file nothing else recognises
    json_record: RecordParser | None = None
    csv_row: RecordParser | None = None
    csv_required: tuple[str, ...] = ()
    text_line: RecordParser | None = None
    bodies: dict[str, BodyParser] = field(default_factory=dict)
    routes: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    validate: Callable[[bytes, str], None] | None = None
    fast: str | None = None
    whole_document: bool = False  # one JSON document may span the whole file
    envelopes: bool = False

    def matches_json(self, keys: set[str]) -> bool:
        return bool(keys & self.json_keys) or bool(self.json_all_keys and self.json_all_keys <= keys)


def _body_parser(module: Any, parse: Callable[..., Result]) -> BodyParser:
    def run(body: str, content_type: str | None, received_at: datetime | None) -> Result:
        return parse(module.decode(body, content_type), received_at=received_at)

    run.__doc__ = f"{module.__name__}.{parse.__name__} of a decoded webhook body"
    return run


def _smpp_body(body: str, content_type: str | None, received_at: datetime | None) -> Result:
    """The SMPP receiver journals each deliver_sm (receipt or MO) as one JSON object."""
    return smpp.parse_line(body, received_at=received_at)


def _keyword(parse: Callable[..., Result]) -> RecordParser:
    def run(record: Any, received_at: datetime) -> Result:
        return parse(record, received_at=received_at)

    run.__doc__ = f"{parse.__module__}.{parse.__name__}"
    return run


def infobip_record(doc: Any, received_at: datetime) -> Result:
    """A body or a single report; inbound when an item has `receivedAt` or `cleanText` (not null).

    As for webhook bodies (`infobip._results`): a "results" list makes a body; otherwise a
    document with a `messageId` is one report (a "results" that is not a list is then just an
    unknown field)."""
    results = doc.get("results") if isinstance(doc, dict) else None
    if isinstance(results, list):
        items = results
    elif results is None or "messageId" in doc:
        items = [doc]
    else:
        raise ValueError('"results" is not a list')
    inbound = any(
        isinstance(i, dict) and (i.get("receivedAt") is not None or i.get("cleanText") is not None) for i in items
    )
    return (infobip.parse_inbound if inbound else infobip.parse_dlr)(doc, received_at=received_at)


def twilio_record(doc: Any, received_at: datetime) -> Result:
    """Callback parameters (status or inbound) or a row of a Bulk Export."""
    if isinstance(doc, dict) and not twilio._sid(doc) and ("sid" in doc or "Sid" in doc):
        return twilio.parse_export_row(doc, received_at=received_at)
    inbound = isinstance(doc, dict) and (
        "Body" in doc or str(doc.get("SmsStatus", "")).lower() in ("received", "receiving")
    )
    return (twilio.parse_inbound if inbound else twilio.parse_dlr)(doc, received_at=received_at)


def vonage_record(doc: Any, received_at: datetime) -> Result:
    """A DLR, an inbound message, or a row of a messages export."""
    if isinstance(doc, dict) and "status" not in doc and ("message_id" in doc or "direction" in doc):
        return vonage.parse_export_row(doc, received_at=received_at)
    inbound = isinstance(doc, dict) and "status" not in doc
    return (vonage.parse_inbound if inbound else vonage.parse_dlr)(doc, received_at=received_at)


_REGISTRY = [
    Format(
        "journal", ("jsonl",), json_all_keys=frozenset({"kind", "body", "provider"}), envelopes=True, fast="journal"
    ),
    Format(
        "csv",
        ("csv",),
        csv_header=lambda h: {"providermessageid", "status", "eventat"} <= h,
        csv_default=True,
        csv_row=_keyword(generic.parse_row),
        csv_required=generic.REQUIRED,
    ),
    Format(
        "twilio",
        ("jsonl", "csv"),
        json_keys=frozenset({"MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "account_sid"}),
        csv_header=lambda h: "sid" in h and bool(h & {"status", "direction"}),
        json_record=twilio_record,
        csv_row=_keyword(twilio.parse_export_row),
        bodies={"dlr": _body_parser(twilio, twilio.parse_dlr), "inbound": _body_parser(twilio, twilio.parse_inbound)},
        routes={"/twilio/status": (("POST",), "dlr"), "/twilio/inbound": (("POST",), "inbound")},
        validate=twilio.validate_dlr,
    ),
    Format(
        "vonage",
        ("jsonl", "csv"),
        json_keys=frozenset(
            {"msisdn", "err-code", "message-timestamp", "message_uuid", "network-code", "concat", "client-ref"}
        ),
        csv_header=lambda h: bool(
            h & {"messageid", "messageuuid"} and h & {"direction", "clientref", "datefinalized", "status"}
        ),
        json_record=vonage_record,
        csv_row=_keyword(vonage.parse_export_row),
        bodies={"dlr": _body_parser(vonage, vonage.parse_dlr), "inbound": _body_parser(vonage, vonage.parse_inbound)},
        routes={"/vonage/dlr": (("GET", "POST"), "dlr"), "/vonage/inbound": (("GET", "POST"), "inbound")},
        validate=vonage.validate_dlr,
    ),
    Format(
        "smpp",
        ("text", "jsonl"),
        json_keys=frozenset({"short_message", "receipted_message_id", "message_state", "esm_class", "source_addr"}),
        text_head=smpp.is_receipt_text,
        text_line=_keyword(smpp.parse_line),
        bodies={"dlr": _smpp_body, "inbound": _smpp_body},
    ),
    Format(
        "infobip",
        ("json", "jsonl"),
        json_keys=frozenset({"results", "messageId", "doneAt", "sentAt", "receivedAt", "bulkId"}),
        json_record=infobip_record,
        fast="infobip",
        whole_document=True,
        bodies={
            "dlr": _body_parser(infobip, infobip.parse_dlr),
            "inbound": _body_parser(infobip, infobip.parse_inbound),
        },
        routes={"/infobip/dlr": (("POST",), "dlr"), "/infobip/inbound": (("POST",), "inbound")},
        validate=infobip.validate_dlr,
    ),
]
FORMATS: dict[str, Format] = {f.name: f for f in _REGISTRY}


def body_parser(provider: Any, kind: Any) -> BodyParser | None:
    """The parser of a journal envelope's body for (provider, kind); None when no format has one."""
    fmt = FORMATS.get(provider) if isinstance(provider, str) else None
    return fmt.bodies.get(kind) if fmt is not None and isinstance(kind, str) else None


def choices() -> tuple[str, ...]:
    """The values of `ingest --format`: auto, then every format."""
    return ("auto", *FORMATS)


def get(name: str) -> Format:
    """The format called `name`; an InputError naming `--format` and the choices otherwise."""
    if name not in FORMATS:
        raise InputError(f"--format {name}: expected one of {', '.join(choices())}")
    return FORMATS[name]


def _keys(line: str) -> set[str]:
    try:
        doc = json.loads(line)
    except ValueError:
        return set()
    return set(doc) if isinstance(doc, dict) else set()


def detect(path: Path, head: str) -> str:
    """The format of a file from its name and first lines (`head`): the first of `FORMATS`
    whose JSON keys match the first line, else whose text or CSV header does; a `.csv` file
    nothing recognises is the generic CSV (whose reader names the missing columns)."""
    lines = [line for line in head.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    if first.startswith("{") or first.startswith("["):
        # a document spread over several lines: the keys it names anywhere in the head
        keys = _keys(first) or {k for f in FORMATS.values() for k in f.json_keys if f'"{k}"' in head}
        for fmt in FORMATS.values():
            if fmt.matches_json(keys):
                return fmt.name
    for fmt in FORMATS.values():
        if fmt.text_head is not None and fmt.text_head(first):
            return fmt.name
    names = next(csv.reader([first]), []) if first else []
    header = {h.strip().lower().replace(" ", "").replace("_", "") for h in names}
    for fmt in FORMATS.values():
        if fmt.csv_header is not None and fmt.csv_header(header):
            return fmt.name
    if path.suffix.lower() == ".csv":
        for fmt in FORMATS.values():
            if fmt.csv_default:
                return fmt.name
    raise InputError(f"{path}: line 1: cannot tell the format from its content; pass --format ({', '.join(FORMATS)})")
