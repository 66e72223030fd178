"""Load delivery reports and replies into DuckDB: idempotent, nothing lost, nothing twice.

Two entry points:
- `load()` reads the landing-zone journal from where it stopped last time (byte offset per
  file, committed in the same transaction as the rows), so it is safe while `serve` writes.
- `ingest(paths, fmt=)` reads report files: Infobip bodies or JSON lines, Twilio and Vonage
  callback parameters as JSON lines or their CSV exports, SMPP receipts (text or JSON lines),
  journal files, or the generic CSV `provider_message_id,status,event_at[,error_code]`.

Every record either lands (`dlr_events`, `inbound`, `consent`) or goes to `quarantine`
with its file, line and reason. Duplicates are recognised by deterministic keys, and the
current status of each message is recomputed so that a final status never regresses.
Infobip delivery reports take a DuckDB-native path (`receiving.fast`); everything else, and
any Infobip line that path is not sure of, goes through the Python parsers.

Example:
    >>> import tempfile
    >>> from smslab.receiving.loader import load
    >>> load(db=":memory:", landing=tempfile.mkdtemp())   # an empty journal
    {'loaded': 0, 'duplicates': 0, 'quarantined': 0}
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from smslab import config, identity, store
from smslab.campaign import stored_senders
from smslab.errors import InputError
from smslab.receiving import fast, generic, infobip, smpp, twilio, vonage
from smslab.receiving.journal import journal_files
from smslab.receiving.keywords import classify, review
from smslab.receiving.records import Result
from smslab.receiving.statuses import FINAL

# lines per transaction; large enough for DuckDB to write whole row groups (122,880 rows) straight
# to the file instead of through the write-ahead log
BATCH_LINES = 1_000_000
FORMATS = ("auto", "infobip", "twilio", "vonage", "smpp", "csv", "journal")
# (provider, kind) of a journal envelope → parser of its verbatim body:
#   parse(body: str, content_type: str | None, received_at: datetime | None) -> (events, replies, problems)
Parser = Callable[[str, "str | None", "datetime | None"], Result]


def _body_parser(module: Any, parse: Callable[..., Result]) -> Parser:
    def run(body: str, content_type: str | None, received_at: datetime | None) -> Result:
        return parse(module.decode(body, content_type), received_at=received_at)
    run.__doc__ = f"{module.__name__}.{parse.__name__} of a decoded webhook body"
    return run


PARSERS: dict[tuple[str, str], Parser] = {
    ("infobip", "dlr"): _body_parser(infobip, infobip.parse_dlr),
    ("infobip", "inbound"): _body_parser(infobip, infobip.parse_inbound),
    ("twilio", "dlr"): _body_parser(twilio, twilio.parse_dlr),
    ("twilio", "inbound"): _body_parser(twilio, twilio.parse_inbound),
    ("vonage", "dlr"): _body_parser(vonage, vonage.parse_dlr),
    ("vonage", "inbound"): _body_parser(vonage, vonage.parse_inbound),
    # the SMPP provider journals each deliver_sm (receipt or MO) as one JSON object
    ("smpp", "dlr"): lambda body, content_type, received_at: smpp.parse_line(body, received_at=received_at),
    ("smpp", "inbound"): lambda body, content_type, received_at: smpp.parse_line(body, received_at=received_at),
}
EVENT_COLUMNS = ["event_id", "provider", "provider_message_id", "status", "raw_status", "error_code", "permanent",
                 "event_at", "received_at", "source", "raw", "message_ref", "operator",
                 "price", "currency", "parts", "flag"]
INBOUND_COLUMNS = ["provider", "provider_message_id", "msisdn", "recipient", "text", "keyword", "intent",
                   "campaign_id", "received_at", "raw", "review", "provider_keyword", "clean_text", "media_urls"]


@dataclass
class FastChunk:
    """Lines for the SQL path (`receiving.fast`) and how to parse the ones it leaves."""

    table: pa.Table
    mode: str                     # journal | infobip
    source: str
    received_at: datetime | None
    fallback: Callable[[int, str, Batch], None]
    checked: bool = False         # `fast.check` ran on `table` (before the transaction)


@dataclass
class Batch:
    """Parsed rows waiting for one transaction."""

    events: list[dict] = field(default_factory=list)
    replies: list[dict] = field(default_factory=list)
    bad: list[dict] = field(default_factory=list)
    fast: FastChunk | None = None
    places: set[tuple[str, str]] = field(default_factory=set)  # (source, 'line N') of every record read

    def __len__(self) -> int:
        return len(self.events) + len(self.replies) + len(self.bad) + (self.fast.table.num_rows if self.fast else 0)

    def add(self, result: Result, *, source: str, location: str, raw: str,
            received_at: datetime | None = None) -> None:
        """Add a parser's result; each problem becomes a quarantined record at `location`."""
        events, replies, problems = result
        self.places.add((source, _place(location)))
        if not all(_encodable(row) for row in events + replies):
            # JSON escapes can spell lone surrogates ("\ud800"): not text DuckDB (or anyone) can store
            events, replies, problems = [], [], [*problems, "record: text with a lone surrogate escape "
                                                 "(not valid Unicode)"]
        for row in events + replies:
            row.setdefault("received_at", received_at)
            if row["received_at"] is None:
                row["received_at"] = received_at or store.utcnow()
            row["source"] = source
        self.events.extend(events)
        self.replies.extend(replies)
        for problem in problems:
            where = problem.split(":")[0]
            self.bad.append({"source": source, "location": f"{location} {where}", "raw": raw, "reason": problem})


def _place(location: str) -> str:
    """'line 12' of 'line 12 results[3]': the part of a location that names the record."""
    match = re.match(r"line [0-9]+|whole file", location)
    return match.group(0) if match else location


def _encodable(row: dict) -> bool:
    try:
        for value in row.values():
            if isinstance(value, str):
                value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class Counts:
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"loaded": self.loaded, "duplicates": self.duplicates, "quarantined": self.quarantined}


def _event_id(e: dict) -> str:
    """The dedupe key: provider, id, raw status, error and event time (or the parser's `event_key`)."""
    tail = e["event_key"] if "event_key" in e else e["event_at"].isoformat()
    key = f"{e['provider']}|{e['provider_message_id']}|{e['raw_status']}|{e['error_code']}|{tail}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def _parse_envelope(line: str, source: str, location: str, batch: Batch) -> None:
    """One journal line → rows in `batch`, or a quarantined record."""
    try:
        env = json.loads(line)
        provider, kind, body = env["provider"], env["kind"], env["body"]
        received_at = datetime.fromisoformat(env["received_at"])
        if received_at.tzinfo is not None:
            received_at = received_at.astimezone(UTC).replace(tzinfo=None)
        content_type = env.get("content_type")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        batch.bad.append({"source": source, "location": location, "raw": line, "reason": f"bad journal line: {exc}"})
        return
    parser = PARSERS.get((provider, kind)) if isinstance(provider, str) and isinstance(kind, str) else None
    if parser is None:
        batch.bad.append({"source": source, "location": location, "raw": line,
                          "reason": f"no parser for provider {provider!r} kind {kind!r}"})
        return
    try:
        if not isinstance(body, str):
            body = json.dumps(body)
        result = parser(body, content_type if isinstance(content_type, str) else None, received_at)
    except (ValueError, TypeError, AttributeError, KeyError, UnicodeError) as exc:
        batch.bad.append({"source": source, "location": location, "raw": line, "reason": f"unparseable body: {exc}"})
        return
    batch.add(result, source=source, location=location, raw=line, received_at=received_at)


# --- writing ---------------------------------------------------------------------------------------

def _campaign_links(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """(campaign_id, reply_to, scope, keywords): which sender a reply to a number belongs to.

    A reply to a two-way sender belongs to that sender; a reply to an alphanumeric sender's
    opt-out short code (Kenya) belongs to the alphanumeric sender.
    """
    rows = []
    for campaign_id, data, cc, sender in stored_senders(con):
        keywords = json.dumps(data.get("keywords") or [])
        region = data.get("default_region") if cc == "*" else cc
        scope = identity.key(sender["id"], region, sender.get("type"))
        reply_to = [scope]
        if sender.get("opt_out_short_code"):
            reply_to.append(identity.key(sender["opt_out_short_code"], region, "short_code"))
        for number in reply_to:
            # a short code is the country's: only its own subscribers' replies belong to it
            prefix = identity.calling_prefix(region) if identity.is_short_code(number) else None
            rows.append((campaign_id, number, prefix, scope, keywords))
    return pd.DataFrame(rows, columns=["campaign_id", "reply_to", "prefix", "scope", "keywords"])


def _write(con: duckdb.DuckDBPyConnection, batch: Batch, counts: Counts) -> None:
    """Insert one batch (call inside a transaction)."""
    staged = None
    if batch.fast is not None:
        chunk = batch.fast
        staged = fast.stage(con, chunk.table, mode=chunk.mode, source=chunk.source, received_at=chunk.received_at,
                            checked=chunk.checked)
        for line_no, line in staged.rest:
            chunk.fallback(line_no, line, batch)
    if staged is not None or batch.events:
        cols = ", ".join(EVENT_COLUMNS)
        total, affected = 0, []
        before = store.scalar(con, "SELECT count(*) FROM dlr_events")
        if staged is not None:
            con.execute(f"INSERT INTO dlr_events ({cols}) SELECT {cols} FROM _staged")  # new ones only
            total += staged.total
            affected.append("SELECT provider_message_id FROM _staged_ids")
        if batch.events:
            frame = pd.DataFrame(batch.events)
            if "message_ref" not in frame:
                frame["message_ref"] = None
            frame["message_ref"] = frame["message_ref"].fillna(frame["provider_message_id"])
            if "operator" not in frame:
                frame["operator"] = None
            frame["operator"] = frame["operator"].astype(object)
            for column, dtype in (("price", "Float64"), ("currency", object), ("parts", "Int32"), ("flag", object)):
                frame[column] = (frame[column] if column in frame else None)
                frame[column] = frame[column].astype(dtype)
            frame["event_id"] = [_event_id(e) for e in batch.events]
            frame["permanent"] = frame["permanent"].astype("boolean")
            frame["seq"] = np.arange(len(frame), dtype=np.int64)
            frame["event_at"] = pd.to_datetime(frame["event_at"])
            frame["received_at"] = pd.to_datetime(frame["received_at"])
            con.register("_py_events", frame[fast.STAGED_COLUMNS])
            con.execute(_insert_new("_py_events", cols))
            con.execute("CREATE OR REPLACE TEMP TABLE _py_ids AS SELECT provider_message_id FROM _py_events "
                        "UNION SELECT message_ref FROM _py_events")
            con.unregister("_py_events")
            total += len(frame)
            affected.append("SELECT provider_message_id FROM _py_ids")
        added = store.scalar(con, "SELECT count(*) FROM dlr_events") - before
        counts.loaded += added
        counts.duplicates += total - added
        con.execute("CREATE OR REPLACE TEMP TABLE _affected AS " + " UNION ".join(affected))
        if staged is not None:
            fast.drop(con)
        refresh_statuses(con, "_affected")
    if batch.replies:
        _write_replies(con, batch.replies, counts)
    counts.quarantined += len(batch.bad)
    store.quarantine(con, batch.bad)
    _resolve(con, batch)


def _resolve(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Quarantined records of earlier loads whose place (file and line) loaded now are resolved."""
    bad = {(b["source"], _place(str(b["location"]))) for b in batch.bad}
    sources = {s for s, _ in batch.places | bad} | ({batch.fast.source} if batch.fast is not None else set())
    for source in sources:
        lines = None
        if batch.fast is not None and batch.fast.source == source and batch.fast.table.num_rows:
            import pyarrow.compute as pc

            bounds = pc.min_max(batch.fast.table.column("line_no")).as_py()
            lines = (int(bounds["min"]), int(bounds["max"]))
        store.resolve_quarantine(con, source, {p for s, p in batch.places if s == source}, lines,
                                 {p for s, p in bad if s == source})


def _insert_new(name: str, cols: str) -> str:
    """SQL adding the events of `name` whose event_id is new: not in dlr_events, first of the batch."""
    return f"""INSERT INTO dlr_events ({cols})
               SELECT {cols} FROM {name} WHERE event_id NOT IN (SELECT event_id FROM dlr_events)
               QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY seq) = 1"""


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame:
            frame[column] = None
    return frame[columns]


def _join_parts(con: duckdb.DuckDBPyConnection, parts: list[dict], counts: Counts) -> list[dict]:
    """Keep parts of long inbound messages; return the messages whose parts are now all here."""
    columns = ["provider", "provider_message_id", "msisdn", "recipient", "concat_ref", "concat_part",
               "concat_total", "text", "received_at", "raw"]
    frame = _frame(parts, columns)
    before = store.scalar(con, "SELECT count(*) FROM inbound_parts")
    con.register("_parts", frame)
    con.execute(f"INSERT OR IGNORE INTO inbound_parts ({', '.join(columns)}) SELECT * FROM _parts")
    con.unregister("_parts")
    added = store.scalar(con, "SELECT count(*) FROM inbound_parts") - before
    counts.loaded += added
    counts.duplicates += len(frame) - added
    rows = con.execute("""
        WITH groups AS (
            SELECT provider, msisdn, recipient, concat_ref, max(concat_total) AS total,
                   count(DISTINCT concat_part) AS have, min(provider_message_id) AS first_id
            FROM inbound_parts GROUP BY ALL),
        ready AS (
            SELECT g.* FROM groups g WHERE have >= total
              AND NOT EXISTS (SELECT 1 FROM inbound i WHERE i.provider = g.provider
                              AND i.provider_message_id = 'concat:' || g.concat_ref || ':' || g.first_id))
        SELECT r.provider, 'concat:' || r.concat_ref || ':' || r.first_id, r.msisdn, r.recipient,
               string_agg(p.text, '' ORDER BY p.concat_part), max(p.received_at),
               to_json(list(p.raw::JSON ORDER BY p.concat_part))::VARCHAR
        FROM ready r JOIN (SELECT DISTINCT ON (provider, msisdn, recipient, concat_ref, concat_part) *
                           FROM inbound_parts ORDER BY provider, msisdn, recipient, concat_ref, concat_part,
                                                       provider_message_id) p
             USING (provider, msisdn, recipient, concat_ref)
        GROUP BY ALL
    """).fetchall()
    return [{"provider": r[0], "provider_message_id": r[1], "msisdn": r[2], "recipient": r[3], "text": r[4],
             "received_at": r[5], "raw": r[6], "assembled": True} for r in rows]


def _regions(msisdns: pd.Series) -> list[str | None]:
    """The region of each number (None for a missing or unparseable one), vectorised."""
    from smslab.numbers import normalize

    unique = pd.unique(msisdns[msisdns.map(lambda m: isinstance(m, str))])
    found = dict(zip(unique, normalize(pd.Series(unique, dtype=object))["region"], strict=False)) if len(unique) else {}
    return [found.get(m) if isinstance(m, str) else None for m in msisdns]


def _write_replies(con: duckdb.DuckDBPyConnection, replies: list[dict], counts: Counts) -> None:
    parts = [r for r in replies if r.get("concat_ref")]
    whole = [r for r in replies if not r.get("concat_ref")]
    assembled = _join_parts(con, parts, counts) if parts else []
    columns = ["provider", "provider_message_id", "msisdn", "recipient", "text", "received_at", "raw",
               "provider_keyword", "clean_text", "media_urls"]
    frame = _frame(whole + assembled, columns).drop_duplicates(["provider", "provider_message_id"])
    for column in ("provider_keyword", "clean_text", "media_urls"):
        frame[column] = frame[column].astype(object)
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    con.register("_replies", frame)
    fresh = con.execute("""SELECT * FROM _replies r WHERE NOT EXISTS (
                               SELECT 1 FROM inbound i WHERE i.provider = r.provider
                               AND i.provider_message_id = r.provider_message_id)""").df()
    con.unregister("_replies")
    fresh_whole = int((~fresh["provider_message_id"].str.startswith("concat:")).sum()) if len(fresh) else 0
    counts.duplicates += len(whole) - fresh_whole
    if fresh.empty:
        return
    links = _campaign_links(con)
    # every provider's spelling of our number ("447700900123", "+447700900123") is one identity
    spelled = pd.unique(fresh["recipient"].astype(object))
    canonical = {r: identity.key(r) if isinstance(r, str) else r for r in spelled}
    fresh["recipient"] = fresh["recipient"].map(canonical)
    con.register("_fresh", fresh)
    con.register("_links", links)
    # a number (short code) used by several campaigns: the campaign that last messaged this person wins
    linked = con.execute("""
        SELECT f.*, l.campaign_id, l.scope, l.keywords, m.region AS known_region FROM _fresh f
        LEFT JOIN _links l ON l.reply_to = f.recipient AND (l.prefix IS NULL OR starts_with(f.msisdn, l.prefix))
        LEFT JOIN (SELECT campaign_id, msisdn, max(coalesce(submitted_at, scheduled_at)) AS last_sent,
                          any_value(region) AS region
                   FROM messages GROUP BY campaign_id, msisdn) m
               ON m.campaign_id = l.campaign_id AND m.msisdn = f.msisdn
        QUALIFY row_number() OVER (PARTITION BY f.provider, f.provider_message_id
                                   ORDER BY m.last_sent DESC NULLS LAST, l.campaign_id) = 1
    """).df()
    con.unregister("_fresh")
    con.unregister("_links")
    # the region of a number we messaged is known; the others are worked out (vectorised)
    known = linked["known_region"].astype(object)
    unknown = known.isna().to_numpy()
    regions = known.where(~unknown, None).to_numpy(dtype=object, copy=True)
    if unknown.any():
        regions[unknown] = _regions(linked["msisdn"][unknown])
    keywords, intents, reviews = [], [], []
    decided: dict[tuple, tuple] = {}  # replies repeat (STOP, ARRET, the campaign's keywords…): classify each once
    for text, kws, region in zip(linked["text"], linked["keywords"], regions, strict=False):
        key = (text, kws if isinstance(kws, str) else None, region)
        if key not in decided:
            keyword, intent = classify(text, campaign_keywords=json.loads(kws) if isinstance(kws, str) else [],
                                       region=region)
            decided[key] = (keyword, intent, review(text, intent))
        keyword, intent, why = decided[key]
        keywords.append(keyword)
        intents.append(intent)
        reviews.append(why)
    linked["keyword"], linked["intent"], linked["review"] = keywords, intents, reviews
    rows = linked[INBOUND_COLUMNS]
    con.register("_inbound", rows)
    con.execute(f"INSERT INTO inbound ({', '.join(INBOUND_COLUMNS)}) SELECT * FROM _inbound")
    con.unregister("_inbound")
    counts.loaded += fresh_whole
    # opt-outs and opt-ins; free text that may be an opt-out is honoured too (fail closed) and
    # marked reply-review so a person can confirm it or record an opt-in
    action = linked["intent"].where(linked["intent"].isin(["opt_out", "opt_in"]))
    none = np.array(None, dtype=object)  # np.where(…, None) as numpy's type stubs accept it
    action = action.where(action.notna(), np.where(linked["review"] == "possible_opt_out", "opt_out", none))
    changes = linked.assign(action=action)[action.notna()]
    if len(changes):
        source = pd.Series(np.where(changes["intent"] == "other", "reply-review:", "reply:"), index=changes.index)
        consent = pd.DataFrame({
            "consent_id": [hashlib.sha1(f"{p}|{m}".encode()).hexdigest()
                           for p, m in zip(changes["provider"], changes["provider_message_id"], strict=False)],
            "msisdn": changes["msisdn"],
            "scope": changes["scope"].fillna(changes["recipient"]),
            "action": changes["action"],
            "source": source + changes["provider"],
            "evidence": [json.dumps({"text": t, "to": r, "provider_message_id": m}, ensure_ascii=False)
                         for t, r, m in zip(changes["text"], changes["recipient"], changes["provider_message_id"],
                                            strict=False)],
            "recorded_at": changes["received_at"],
        })
        con.register("_consent", consent)
        con.execute("INSERT INTO consent SELECT * FROM _consent "
                    "WHERE consent_id NOT IN (SELECT consent_id FROM consent)")
        con.unregister("_consent")


def refresh_statuses(con: duckdb.DuckDBPyConnection, ids_table: str | None = None) -> None:
    """Set each message's status from its events. `ids_table` (a column `provider_message_id`
    of provider ids, message refs or message ids) limits the work to the messages it names.

    Prices: a message whose reports carry a price (Infobip) takes the latest one, times the
    parts charged (the report's, else `messages.segments`), with `price_source = 'report'`.

    One part (the usual case): a final status beats any non-final one, then the latest event
    wins, then sent > submitted > others. Several parts (per-part reports linked by
    `message_ref`, e.g. Vonage `client-ref`): each part's status is found that way; the message
    is `delivered` once as many parts as `messages.segments` are delivered; a part that ended
    undelivered/expired/rejected/failed makes the message that (the latest such); parts
    delivered but not all yet leave it `sent`.

    Messages with per-part reports take the full query; the others (nearly all) one
    aggregate over their own reports.
    """
    _match_number_bases(con, ids_table)
    where = ""
    if ids_table:
        where = (f"AND (provider_message_id IN (SELECT provider_message_id FROM {ids_table})"
                 f" OR message_id IN (SELECT provider_message_id FROM {ids_table}))")
    con.execute("""CREATE OR REPLACE TEMP TABLE _per_part AS
                   SELECT DISTINCT message_ref AS message_id FROM dlr_events
                   WHERE message_ref <> provider_message_id""")
    per_part = store.scalar(con, "SELECT count(*) FROM _per_part")
    if per_part:  # the messages those per-part reports are about
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _per_part AS
                        SELECT message_id FROM messages WHERE provider_message_id IS NOT NULL {where}
                          AND (provider_message_id IN (SELECT message_id FROM _per_part)
                               OR message_id IN (SELECT message_id FROM _per_part))""")
        per_part = store.scalar(con, "SELECT count(*) FROM _per_part")
    own_events = f"WHERE provider_message_id IN (SELECT provider_message_id FROM {ids_table})" if ids_table else ""
    # a report's price (Infobip: per part charged) wins over the submit answer's: the latest
    # report that has one, times its parts (else the message's segments)
    con.execute(f"""
        UPDATE messages SET status = b.best.s, status_at = b.best.e, error_code = b.best.c,
               price = CASE WHEN b.money IS NULL THEN messages.price
                            ELSE round(b.money.p * coalesce(b.money.n, messages.segments, 1), 8) END,
               currency = CASE WHEN b.money IS NULL THEN messages.currency ELSE b.money.c END,
               price_source = CASE WHEN b.money IS NULL THEN messages.price_source ELSE 'report' END
        FROM (SELECT provider_message_id AS own, {_BEST} AS best,
                     arg_max({{'p': price, 'c': currency, 'n': parts}}, event_at)
                         FILTER (WHERE price IS NOT NULL AND currency IS NOT NULL) AS money
              FROM dlr_events {own_events} GROUP BY 1) AS b
        WHERE messages.provider_message_id = b.own
          {"AND messages.message_id NOT IN (SELECT message_id FROM _per_part)" if per_part else ""}""")
    if per_part:
        _refresh_per_part(con)
    con.execute("DROP TABLE _per_part")


def _match_number_bases(con: duckdb.DuckDBPyConnection, ids_table: str | None) -> None:
    """SMPP receipts whose id names no message but is the same number as one message's id in
    the other base — the SMSC answered submit_sm with a hex id and reports it in decimal, or
    the reverse (a common quirk) — take that message's id. An exact match always wins; ids that
    are no 64-bit number (UUIDs…) are left alone."""
    if not store.scalar(con, "SELECT count(*) FROM (SELECT 1 FROM dlr_events WHERE provider = 'smpp' LIMIT 1)"):
        return
    # the messages or receipts this refresh is about (a receipt may have come before its message)
    scope = (f"AND (o.pmid IN (SELECT provider_message_id FROM {ids_table}) "
             f"OR m.own IN (SELECT provider_message_id FROM {ids_table}))") if ids_table else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _base_matches AS
        WITH orphans AS (
            SELECT pmid, TRY_CAST(pmid AS UBIGINT) AS dec, TRY_CAST('0x' || pmid AS UBIGINT) AS hex
            FROM (SELECT DISTINCT provider_message_id AS pmid FROM dlr_events e WHERE provider = 'smpp'
                  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.provider_message_id = e.provider_message_id))),
        msgs AS (
            SELECT provider_message_id AS own, TRY_CAST(provider_message_id AS UBIGINT) AS dec,
                   TRY_CAST('0x' || provider_message_id AS UBIGINT) AS hex
            FROM messages WHERE provider = 'smpp' AND provider_message_id IS NOT NULL),
        candidates AS (
            SELECT o.pmid, m.own FROM orphans o JOIN msgs m ON o.dec = m.hex WHERE true {scope}
            UNION
            SELECT o.pmid, m.own FROM orphans o JOIN msgs m ON o.hex = m.dec WHERE true {scope})
        SELECT pmid, min(own) AS own FROM candidates GROUP BY pmid HAVING count(DISTINCT own) = 1""")
    if store.scalar(con, "SELECT count(*) FROM _base_matches"):
        con.execute("""UPDATE dlr_events SET provider_message_id = b.own,
                           message_ref = CASE WHEN message_ref = provider_message_id THEN b.own ELSE message_ref END
                       FROM _base_matches b
                       WHERE dlr_events.provider = 'smpp' AND dlr_events.provider_message_id = b.pmid""")
        if ids_table:
            con.execute(f"INSERT INTO {ids_table} SELECT own FROM _base_matches")
    con.execute("DROP TABLE _base_matches")


_FINAL = ", ".join(f"'{s}'" for s in sorted(FINAL))


def _precedence(status: str, at: str) -> str:
    """SQL ordering key of an event: a final status first, then the latest, then sent > submitted > others."""
    return (f"{{'f': {status} IN ({_FINAL}), 'e': {at}, "
            f"'r': CASE {status} WHEN 'sent' THEN 3 WHEN 'submitted' THEN 2 ELSE 1 END}}")


# the event that sets a status
_BEST = f"arg_max({{'s': status, 'e': event_at, 'c': error_code}}, {_precedence('status', 'event_at')})"


def _refresh_per_part(con: duckdb.DuckDBPyConnection) -> None:
    """`refresh_statuses` for the messages in `_per_part` (reports per part, by message_ref)."""
    failures = ", ".join(f"'{s}'" for s in sorted(FINAL - {"delivered"}))
    con.execute(f"""
        UPDATE messages SET status = b.status, status_at = b.event_at, error_code = b.error_code
        FROM (
            WITH msgs AS (
                SELECT message_id, provider_message_id AS own, greatest(coalesce(segments, 1), 1) AS expected
                FROM messages WHERE message_id IN (SELECT message_id FROM _per_part)),
            matched AS (
                SELECT m.message_id, m.own, m.expected, e.provider_message_id, e.status, e.event_at, e.error_code
                FROM msgs m JOIN dlr_events e ON e.provider_message_id = m.own
                UNION ALL
                SELECT m.message_id, m.own, m.expected, e.provider_message_id, e.status, e.event_at, e.error_code
                FROM msgs m JOIN (SELECT * FROM dlr_events WHERE message_ref <> provider_message_id) e
                     ON e.message_ref = m.own
                UNION ALL
                SELECT m.message_id, m.own, m.expected, e.provider_message_id, e.status, e.event_at, e.error_code
                FROM msgs m JOIN (SELECT * FROM dlr_events WHERE message_ref <> provider_message_id) e
                     ON e.message_ref = m.message_id),
            parts AS (
                SELECT message_id, provider_message_id, any_value(own) AS own, any_value(expected) AS expected,
                       {_BEST} AS part
                FROM matched GROUP BY message_id, provider_message_id),
            agg AS (
                SELECT message_id,
                       count(*) > 1 OR bool_or(provider_message_id <> own) AS per_part,
                       any_value(expected) AS expected,
                       count(*) FILTER (WHERE part.s = 'delivered') AS delivered_parts,
                       max(part.e) FILTER (WHERE part.s = 'delivered') AS delivered_at,
                       arg_max(part, part.e) FILTER (WHERE part.s IN ({failures})) AS failed,
                       arg_max(part, {_precedence('part.s', 'part.e')}) AS best
                FROM parts GROUP BY message_id)
            SELECT message_id,
                   CASE WHEN NOT per_part THEN best.s WHEN failed IS NOT NULL THEN failed.s
                        WHEN delivered_parts >= expected THEN 'delivered'
                        WHEN delivered_parts > 0 THEN 'sent' ELSE best.s END AS status,
                   CASE WHEN NOT per_part THEN best.e WHEN failed IS NOT NULL THEN failed.e
                        WHEN delivered_parts > 0 THEN delivered_at ELSE best.e END AS event_at,
                   CASE WHEN NOT per_part THEN best.c WHEN failed IS NOT NULL THEN failed.c
                        WHEN delivered_parts > 0 THEN NULL ELSE best.c END AS error_code
            FROM agg
        ) AS b
        WHERE messages.message_id = b.message_id
    """)


def _commit(con: duckdb.DuckDBPyConnection, batch: Batch, counts: Counts, offset: tuple | None = None) -> None:
    if batch.fast is not None and not batch.fast.checked:  # the JSON parse, outside the transaction
        chunk = batch.fast
        fast.check(con, chunk.table, mode=chunk.mode, received_at=chunk.received_at)
        chunk.checked = True
    con.execute("BEGIN TRANSACTION")
    try:
        _write(con, batch, counts)
        if offset is not None:
            con.execute("INSERT OR REPLACE INTO journal_offsets VALUES (?, ?, ?, ?)", [*offset, store.utcnow()])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


# --- lines -----------------------------------------------------------------------------------------

def _slow_lines(data: bytes, first_line: int, source: str, batch: Batch,
                handle: Callable[[int, str, Batch], None]) -> None:
    """Line by line in Python (bytes that are not all UTF-8): undecodable lines are quarantined."""
    for number, raw in enumerate(data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"),
                                 start=first_line):
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            batch.bad.append({"source": source, "location": f"line {number}", "raw": raw,  # the bytes, as read
                              "reason": "not UTF-8"})
            continue
        if text.strip():
            handle(number, text, batch)


def _envelope_handler(source: str) -> Callable[[int, str, Batch], None]:
    def handle(number: int, text: str, batch: Batch) -> None:
        _parse_envelope(text, source, f"line {number}", batch)
    return handle


def load(*, db: str | os.PathLike[str] | None = None, landing: str | os.PathLike[str] | None = None,
         con: duckdb.DuckDBPyConnection | None = None) -> dict[str, int]:
    """Move new journal lines into DuckDB, one transaction per batch. Returns loaded/duplicates/quarantined."""
    own = con is None
    con = con or store.connect(db)
    counts = Counts()
    root = config.landing_dir(landing)
    if landing is not None and not Path(root).is_dir():
        raise InputError(f"--landing {landing}: no such folder; give the journal folder `smslab serve` writes "
                         f"(default: $SMSLAB_LANDING or data/landing)" if not Path(root).exists()
                         else f"--landing {landing}: is a file, not the journal folder")
    try:
        done = {p: (o, n) for p, o, n in con.execute("SELECT path, byte_offset, lines FROM journal_offsets").fetchall()}
        for path in journal_files(root):
            rel = str(path.relative_to(root))
            offset, line_no = done.get(rel, (0, 0))
            if path.stat().st_size <= offset:
                continue
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
            complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for next time
            if not complete:
                continue
            for _, stop, first, lines, batch in _batches(complete, line_no + 1, rel, "journal", None,
                                                         _envelope_handler(rel)):
                _commit(con, batch, counts, (rel, offset + stop, first + lines - 1))
    finally:
        if own:
            con.close()
    return counts.as_dict()


def _batches(data: bytes, first_line: int, source: str, mode: str | None, received_at: datetime | None,
             handle: Callable[[int, str, Batch], None]):
    """Yield (start byte, stop byte, first line number, lines, Batch) of at most BATCH_LINES lines each.
    With `mode` (journal | infobip) the lines go to the SQL path first; otherwise to `handle`."""
    breaks = fast.newlines(data)
    table = fast.lines_table(data, first_line, breaks) if mode else None
    ends = breaks + 1  # byte offset just past each line
    if len(ends) == 0 or ends[-1] != len(data):
        ends = np.append(ends, len(data))
    step = max(int(BATCH_LINES), 1)
    for i in range(0, len(ends), step):
        start = 0 if i == 0 else int(ends[i - 1])
        stop = int(ends[min(i + step, len(ends)) - 1])
        lines = min(step, len(ends) - i)
        batch = Batch()
        if table is not None and mode is not None:
            batch.fast = FastChunk(table.slice(i, lines), mode, source, received_at,
                                   lambda n, text, b: handle(n, text, b) if text.strip() else None)
        else:
            _slow_lines(data[start:stop], first_line + i, source, batch, handle)
        yield start, stop, first_line + i, lines, batch


# --- files -----------------------------------------------------------------------------------------

def _keys(line: str) -> set[str]:
    try:
        doc = json.loads(line)
    except ValueError:
        return set()
    return set(doc) if isinstance(doc, dict) else set()


def detect(path: Path, head: str) -> str:
    """The format of a file from its name and first lines: journal, infobip, twilio, vonage, smpp or csv."""
    lines = [line for line in head.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    if first.startswith("{") or first.startswith("["):
        keys = _keys(first) or set(k for k in ("results", "messageId", "MessageSid", "msisdn", "short_message")
                                    if f'"{k}"' in head)
        if {"kind", "body", "provider"} <= keys:
            return "journal"
        if keys & {"MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "account_sid"}:
            return "twilio"
        if keys & {"msisdn", "err-code", "message-timestamp", "message_uuid", "network-code", "concat", "client-ref"}:
            return "vonage"
        if keys & {"short_message", "receipted_message_id", "message_state", "esm_class", "source_addr"}:
            return "smpp"
        if keys & {"results", "messageId", "doneAt", "sentAt", "receivedAt", "bulkId"}:
            return "infobip"
    if smpp.is_receipt_text(first):
        return "smpp"
    names = next(csv.reader([first]), []) if first else []
    header = {h.strip().lower().replace(" ", "").replace("_", "") for h in names}
    if {"providermessageid", "status", "eventat"} <= header:
        return "csv"
    if "sid" in header and header & {"status", "direction"}:
        return "twilio"
    if header & {"messageid", "messageuuid"} and header & {"direction", "clientref", "datefinalized", "status"}:
        return "vonage"
    if path.suffix.lower() == ".csv":
        return "csv"  # the generic shape, whose reader names the missing columns
    raise InputError(f"{path}: line 1: cannot tell the format from its content; pass --format "
                     "(infobip, twilio, vonage, smpp, csv or journal)")


def _json_handler(source: str, received_at: datetime, parse: Callable[[Any, datetime], Result]):
    def handle(number: int, text: str, batch: Batch) -> None:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            batch.bad.append({"source": source, "location": f"line {number}", "raw": text,
                              "reason": f"malformed JSON: {exc}"})
            return
        try:
            result = parse(doc, received_at)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            result = [], [], [f"record: {exc}"]
        batch.add(result, source=source, location=f"line {number}", raw=text, received_at=received_at)
    return handle


def _infobip_doc(doc: Any, received_at: datetime) -> Result:
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
    inbound = any(isinstance(i, dict) and (i.get("receivedAt") is not None or i.get("cleanText") is not None)
                  for i in items)
    return (infobip.parse_inbound if inbound else infobip.parse_dlr)(doc, received_at=received_at)


def _twilio_doc(doc: Any, received_at: datetime) -> Result:
    if isinstance(doc, dict) and not twilio._sid(doc) and ("sid" in doc or "Sid" in doc):
        return twilio.parse_export_row(doc, received_at=received_at)
    inbound = isinstance(doc, dict) and (
        "Body" in doc or str(doc.get("SmsStatus", "")).lower() in ("received", "receiving"))
    return (twilio.parse_inbound if inbound else twilio.parse_dlr)(doc, received_at=received_at)


def _vonage_doc(doc: Any, received_at: datetime) -> Result:
    if isinstance(doc, dict) and "status" not in doc and ("message_id" in doc or "direction" in doc):
        return vonage.parse_export_row(doc, received_at=received_at)
    inbound = isinstance(doc, dict) and "status" not in doc
    return (vonage.parse_inbound if inbound else vonage.parse_dlr)(doc, received_at=received_at)


def _csv_rows(path: Path, text: str, batch: Batch, parse: Callable[..., Result], now: datetime,
              required: tuple[str, ...] = ()) -> None:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    # the physical lines, split as the csv reader splits them, so that a record is kept as written
    physical = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
    seen = 0

    def as_written(upto: int) -> str:
        nonlocal seen
        raw, seen = "".join(physical[seen:upto]), upto
        return raw[:-2] if raw.endswith("\r\n") else raw[:-1] if raw.endswith(("\n", "\r")) else raw
    try:
        names = reader.fieldnames or []
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: unreadable CSV header ({exc})") from None
    seen = reader.line_num
    missing = set(required) - set(names)
    if missing:
        raise InputError(f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}; expected "
                         "provider_message_id,status,event_at[,error_code]")
    number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number = reader.line_num
            batch.bad.append({"source": str(path), "location": f"line {number}", "raw": as_written(number),
                              "reason": f"bad CSV: {exc}"})
            continue
        number = reader.line_num
        clean = {k: v for k, v in row.items() if k is not None}
        raw = as_written(number)
        if None in row:
            batch.bad.append({"source": str(path), "location": f"line {number}", "raw": raw,
                              "reason": "more fields than the header has"})
            continue
        try:
            result = parse(clean, received_at=now)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            result = [], [], [f"row: {exc}"]
        batch.add(result, source=str(path), location=f"line {number}", raw=raw, received_at=now)


def _is_csv(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return not first.lstrip().startswith("{")


def ingest(paths: Iterable[str | os.PathLike[str]], *, fmt: str = "auto", db: str | os.PathLike[str] | None = None,
           con: duckdb.DuckDBPyConnection | None = None) -> dict[str, int]:
    """Load report/reply files, one transaction per batch of lines. Returns loaded/duplicates/quarantined.

    Loading the same file again adds nothing (it counts as duplicates); bad records are
    quarantined with the file and line. A missing file or an unknown format is an InputError.
    """
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    files = [Path(p) for p in paths]
    for path in files:
        if not path.is_file():
            if path.is_dir():
                raise InputError(f"{path}: is a folder; pass the report files in it (e.g. {path}/*.jsonl), "
                                 "or use `smslab load` for the webhook journal")
            raise InputError(f"{path}: no such file")
    # opened at the first write: a file refused before that creates no database
    target: Any = con if con is not None else _Lazy(db)
    counts = Counts()
    try:
        for path in files:
            _ingest_file(target, path, fmt, counts)
    finally:
        if con is None:
            target.close()
    return counts.as_dict()


def _read_file(path: Path) -> tuple[bytes, Path]:
    """The bytes of a report file, gunzipped when it is gzip (exports and logs often are), and
    the name its format is told from (reports.jsonl for reports.jsonl.gz)."""
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data, path
    import gzip
    import zlib

    try:
        data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: a gzip file that cannot be read ({exc}); check the download or gunzip it") from None
    return data, path.with_suffix("") if path.suffix.lower() == ".gz" else path


class _Lazy:
    """A connection opened on first use (`store.connect(db)`)."""

    def __init__(self, db: str | os.PathLike[str] | None) -> None:
        self.db: str | os.PathLike[str] | None = db
        self.con: duckdb.DuckDBPyConnection | None = None

    def __getattr__(self, name: str) -> Any:
        if self.con is None:
            self.con = store.connect(self.db)
        return getattr(self.con, name)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()


def _ingest_file(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, counts: Counts) -> None:
    data, named = _read_file(path)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    source, now = str(path), store.utcnow()
    head = data[:8192].decode("utf-8", "replace")
    kind = detect(named, head) if fmt == "auto" else fmt
    if kind == "journal":
        handler = _envelope_handler(source)
        for *_, batch in _batches(data, 1, source, "journal", None, handler):
            _commit(con, batch, counts)
        return
    if kind in ("infobip", "twilio", "vonage") and not (kind != "infobip" and _is_csv(head)):
        if kind == "infobip":
            whole = _whole_document(data)
            if whole is not None:
                batch = Batch()
                _json_handler(source, now, _infobip_doc)(1, whole, batch)
                _commit(con, batch, counts)
                return
        parse = {"infobip": _infobip_doc, "twilio": _twilio_doc, "vonage": _vonage_doc}[kind]
        handler = _json_handler(source, now, parse)
        for *_, batch in _batches(data, 1, source, "infobip" if kind == "infobip" else None, now, handler):
            _commit(con, batch, counts)
        return
    if kind == "smpp":
        def handle(number: int, text: str, batch: Batch) -> None:
            batch.add(smpp.parse_line(text, received_at=now), source=source, location=f"line {number}",
                      raw=text, received_at=now)
        for *_, batch in _batches(data, 1, source, None, now, handle):
            _commit(con, batch, counts)
        return
    # CSV: the generic shape, or a Twilio / Vonage export
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        batch = Batch()
        batch.bad.append({"source": source, "location": "whole file", "raw": data,
                          "reason": "not UTF-8 text"})
        _commit(con, batch, counts)
        return
    batch = Batch()
    if kind == "csv":
        _csv_rows(path, text, batch, generic.parse_row, now, generic.REQUIRED)
    elif kind == "twilio":
        _csv_rows(path, text, batch, twilio.parse_export_row, now)
    elif kind == "vonage":
        _csv_rows(path, text, batch, vonage.parse_export_row, now)
    else:
        raise InputError(f"--format {kind}: expected one of {', '.join(FORMATS)}")
    _commit(con, batch, counts)


def _whole_document(data: bytes) -> str | None:
    """The text of a file that is one JSON document spread over several lines (a pretty-printed
    webhook body); None for JSON lines (the first line is a document by itself)."""
    first = data[: data.find(b"\n")] if b"\n" in data else data
    try:
        json.loads(first)
        return None
    except ValueError:
        pass
    try:
        text = data.decode("utf-8")
        json.loads(text)
        return text
    except ValueError:
        return None
