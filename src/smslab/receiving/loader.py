"""Load delivery reports and replies into DuckDB: idempotent, nothing lost, nothing twice.

Two entry points:
- `load()` reads the landing-zone journal from where it stopped last time (byte offset per
  file, committed in the same transaction as the rows), so it is safe while `serve` writes.
- `ingest(paths)` reads report files (Infobip bodies or JSON lines, journal files, or the
  generic CSV `provider_message_id,status,event_at[,error_code]`).

Every record either lands (`dlr_events`, `inbound`, `consent`) or goes to `quarantine`
with its file, line and reason. Duplicates are recognised by deterministic keys, and the
current status of each message is recomputed so that a final status never regresses.

Example:
    >>> from smslab.receiving.loader import load
    >>> load(db=":memory:", landing="/nonexistent")
    {'loaded': 0, 'duplicates': 0, 'quarantined': 0}
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

import duckdb
import pandas as pd

from smslab import config, store
from smslab.errors import InputError, NotAvailableError
from smslab.receiving import infobip
from smslab.receiving.journal import journal_files
from smslab.receiving.keywords import classify
from smslab.receiving.statuses import FINAL, NORMALISED

BATCH_LINES = 50_000
Parser = Callable[[Any], tuple[list[dict], list[dict], list[str]]]
PARSERS: dict[tuple[str, str], Parser] = {
    ("infobip", "dlr"): infobip.parse_dlr,
    ("infobip", "inbound"): infobip.parse_inbound,
}


@dataclass
class Batch:
    """Parsed rows waiting for one transaction."""

    events: list[dict] = field(default_factory=list)
    replies: list[dict] = field(default_factory=list)
    bad: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.events) + len(self.replies) + len(self.bad)


@dataclass
class Counts:
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"loaded": self.loaded, "duplicates": self.duplicates, "quarantined": self.quarantined}


def _event_id(e: dict) -> str:
    key = f"{e['provider']}|{e['provider_message_id']}|{e['raw_status']}|{e['error_code']}|{e['event_at'].isoformat()}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def _parse_envelope(line: str, source: str, location: str, batch: Batch) -> None:
    """One journal line → rows in `batch`, or a quarantined record."""
    try:
        env = json.loads(line)
        provider, kind, body = env["provider"], env["kind"], env["body"]
        received_at = datetime.fromisoformat(env["received_at"])
    except (ValueError, KeyError, TypeError) as exc:
        batch.bad.append({"source": source, "location": location, "raw": line, "reason": f"bad journal line: {exc}"})
        return
    parser = PARSERS.get((provider, kind))
    if parser is None:
        batch.bad.append({"source": source, "location": location, "raw": line,
                          "reason": f"no parser for provider {provider!r} kind {kind!r} yet"})
        return
    try:
        payload = json.loads(body) if isinstance(body, str) else body
        events, replies, problems = parser(payload)
    except (ValueError, TypeError, AttributeError) as exc:
        batch.bad.append({"source": source, "location": location, "raw": line, "reason": f"unparseable body: {exc}"})
        return
    for row in events + replies:
        row["received_at"] = received_at
        row["source"] = source
    batch.events.extend(events)
    batch.replies.extend(replies)
    for problem in problems:
        batch.bad.append({"source": source, "location": f"{location} {problem.split(':')[0]}", "raw": line,
                          "reason": problem})


def _campaign_links(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """(campaign_id, reply_to, scope, keywords): which sender a reply to a number belongs to.

    A reply to a two-way sender belongs to that sender; a reply to an alphanumeric sender's
    opt-out short code (Kenya) belongs to the alphanumeric sender.
    """
    rows = []
    for campaign_id, spec in con.execute("SELECT campaign_id, spec FROM campaigns").fetchall():
        data = json.loads(spec) if isinstance(spec, str) else spec
        keywords = json.dumps(data.get("keywords") or [])
        for sender in (data.get("senders") or {}).values():
            rows.append((campaign_id, str(sender["id"]), str(sender["id"]), keywords))
            if sender.get("opt_out_short_code"):
                rows.append((campaign_id, str(sender["opt_out_short_code"]), str(sender["id"]), keywords))
    return pd.DataFrame(rows, columns=["campaign_id", "reply_to", "scope", "keywords"])


def _write(con: duckdb.DuckDBPyConnection, batch: Batch, counts: Counts) -> None:
    """Insert one batch (call inside a transaction)."""
    if batch.events:
        frame = pd.DataFrame(batch.events)
        frame["event_id"] = [_event_id(e) for e in batch.events]
        frame = frame[["event_id", "provider", "provider_message_id", "status", "raw_status", "error_code",
                       "permanent", "event_at", "received_at", "source", "raw"]]
        unique = frame.drop_duplicates("event_id")
        con.register("_events", unique)
        before = store.scalar(con, "SELECT count(*) FROM dlr_events")
        con.execute("INSERT INTO dlr_events SELECT * FROM _events WHERE event_id NOT IN (SELECT event_id FROM dlr_events)")
        added = store.scalar(con, "SELECT count(*) FROM dlr_events") - before
        counts.loaded += added
        counts.duplicates += len(frame) - added
        con.execute("CREATE OR REPLACE TEMP TABLE _affected AS SELECT DISTINCT provider_message_id FROM _events")
        con.unregister("_events")
        refresh_statuses(con, "_affected")
    if batch.replies:
        _write_replies(con, batch.replies, counts)
    counts.quarantined += len(batch.bad)
    store.quarantine(con, batch.bad)


def _write_replies(con: duckdb.DuckDBPyConnection, replies: list[dict], counts: Counts) -> None:
    frame = pd.DataFrame(replies).drop_duplicates(["provider", "provider_message_id"])
    existing = con.execute("SELECT provider, provider_message_id FROM inbound").df()
    if len(existing):
        key = frame["provider"] + "|" + frame["provider_message_id"]
        known = set(existing["provider"] + "|" + existing["provider_message_id"])
        frame = frame[~key.isin(known)]
    counts.duplicates += len(replies) - len(frame)
    if frame.empty:
        return
    links = _campaign_links(con)
    linked = frame.merge(links, how="left", left_on="recipient", right_on="reply_to")
    linked = linked.drop_duplicates(["provider", "provider_message_id"])
    keywords, intents = [], []
    for text, kws in zip(linked["text"], linked["keywords"]):
        keyword, intent = classify(text, campaign_keywords=json.loads(kws) if isinstance(kws, str) else [])
        keywords.append(keyword)
        intents.append(intent)
    linked["keyword"], linked["intent"] = keywords, intents
    rows = linked[["provider", "provider_message_id", "msisdn", "recipient", "text", "keyword", "intent",
                   "campaign_id", "received_at", "raw"]]
    con.register("_inbound", rows)
    con.execute("INSERT INTO inbound SELECT * FROM _inbound")
    con.unregister("_inbound")
    counts.loaded += len(rows)
    changes = linked[linked["intent"].isin(["opt_out", "opt_in"])]
    if len(changes):
        consent = pd.DataFrame({
            "consent_id": [hashlib.sha1(f"{p}|{m}".encode()).hexdigest()
                           for p, m in zip(changes["provider"], changes["provider_message_id"])],
            "msisdn": changes["msisdn"],
            "scope": changes["scope"].fillna(changes["recipient"]),
            "action": changes["intent"],
            "source": "reply:" + changes["provider"],
            "evidence": [json.dumps({"text": t, "to": r, "provider_message_id": m}, ensure_ascii=False)
                         for t, r, m in zip(changes["text"], changes["recipient"], changes["provider_message_id"])],
            "recorded_at": changes["received_at"],
        })
        con.register("_consent", consent)
        con.execute("INSERT INTO consent SELECT * FROM _consent WHERE consent_id NOT IN (SELECT consent_id FROM consent)")
        con.unregister("_consent")


def refresh_statuses(con: duckdb.DuckDBPyConnection, ids_table: str | None = None) -> None:
    """Set each message's status from its events: a final status beats any non-final one,
    then the latest event wins. `ids_table` limits the work to the provider ids it lists."""
    final = ", ".join(f"'{s}'" for s in sorted(FINAL))
    where = f"WHERE provider_message_id IN (SELECT provider_message_id FROM {ids_table})" if ids_table else ""
    con.execute(f"""
        UPDATE messages SET status = b.status, status_at = b.event_at, error_code = b.error_code
        FROM (
            SELECT provider_message_id, status, event_at, error_code FROM (
                SELECT provider_message_id, status, event_at, error_code,
                       row_number() OVER (PARTITION BY provider_message_id
                           ORDER BY status IN ({final}) DESC, event_at DESC,
                                    CASE status WHEN 'sent' THEN 3 WHEN 'submitted' THEN 2 ELSE 1 END DESC) AS rn
                FROM dlr_events {where}) WHERE rn = 1
        ) AS b
        WHERE messages.provider_message_id = b.provider_message_id
    """)


def _commit(con: duckdb.DuckDBPyConnection, batch: Batch, counts: Counts, offset: tuple | None = None) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        _write(con, batch, counts)
        if offset is not None:
            con.execute("INSERT OR REPLACE INTO journal_offsets VALUES (?, ?, ?, ?)", [*offset, store.utcnow()])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def load(*, db: str | os.PathLike[str] | None = None, landing: str | os.PathLike[str] | None = None,
         con: duckdb.DuckDBPyConnection | None = None) -> dict[str, int]:
    """Move new journal lines into DuckDB, one transaction per batch. Returns loaded/duplicates/quarantined."""
    own = con is None
    con = con or store.connect(db)
    counts = Counts()
    root = config.landing_dir(landing)
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
            batch, consumed = Batch(), 0
            for raw in complete.splitlines(keepends=True):
                line_no += 1
                consumed += len(raw)
                location = f"line {line_no}"
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    batch.bad.append({"source": rel, "location": location, "raw": raw.decode("utf-8", "replace"),
                                      "reason": "not UTF-8"})
                else:
                    if text.strip():
                        _parse_envelope(text, rel, location, batch)
                if len(batch) >= BATCH_LINES:
                    _commit(con, batch, counts, (rel, offset + consumed, line_no))
                    batch = Batch()
            _commit(con, batch, counts, (rel, offset + consumed, line_no))
    finally:
        if own:
            con.close()
    return counts.as_dict()


def _detect(path: Path, head: str) -> str:
    stripped = head.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        first = stripped.splitlines()[0] if stripped else ""
        if '"kind"' in first and '"body"' in first:
            return "journal"
        return "infobip"
    first_line = head.splitlines()[0] if head.strip() else ""
    if path.suffix.lower() == ".csv" or "provider_message_id" in first_line:
        return "csv"
    raise InputError(f"{path}: cannot tell the format from its content; pass --format "
                     "(infobip, twilio, vonage, smpp or csv)")


def _infobip_file(path: Path, text: str, batch: Batch) -> None:
    """A webhook body (one JSON document) or JSON lines, each a body or a single report."""
    now = store.utcnow()
    try:
        docs = [(1, json.loads(text))]
    except ValueError:
        docs = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                docs.append((number, json.loads(line)))
            except ValueError as exc:
                batch.bad.append({"source": str(path), "location": f"line {number}", "raw": line,
                                  "reason": f"malformed JSON: {exc}"})
    for number, doc in docs:
        try:
            items = doc["results"] if isinstance(doc, dict) and "results" in doc else [doc]
            is_inbound = any(isinstance(i, dict) and ("receivedAt" in i or "cleanText" in i) for i in items)
            events, replies, problems = (infobip.parse_inbound if is_inbound else infobip.parse_dlr)(doc)
        except (ValueError, TypeError, AttributeError) as exc:
            batch.bad.append({"source": str(path), "location": f"line {number}", "raw": json.dumps(doc)[:10000],
                              "reason": str(exc)})
            continue
        for row in events + replies:
            row["received_at"], row["source"] = now, str(path)
        batch.events.extend(events)
        batch.replies.extend(replies)
        for problem in problems:
            batch.bad.append({"source": str(path), "location": f"line {number} {problem.split(':')[0]}",
                              "raw": json.dumps(doc)[:10000], "reason": problem})


def _csv_file(path: Path, text: str, batch: Batch) -> None:
    """`provider_message_id,status,event_at[,error_code]`; status is a normalised status."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"provider_message_id", "status", "event_at"} - set(reader.fieldnames or [])
    if missing:
        raise InputError(f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}; expected "
                         "provider_message_id,status,event_at[,error_code]")
    now = store.utcnow()
    for number, row in enumerate(reader, start=2):
        raw = json.dumps(row, ensure_ascii=False)
        status = (row.get("status") or "").strip().lower()
        try:
            event_at = pd.Timestamp(row.get("event_at") or "")
            if pd.isna(event_at):
                raise ValueError("empty")
            if event_at.tzinfo is not None:
                event_at = event_at.tz_convert("UTC").tz_localize(None)
        except (ValueError, TypeError):
            batch.bad.append({"source": str(path), "location": f"line {number}", "raw": raw,
                              "reason": f"bad event_at {row.get('event_at')!r}"})
            continue
        if status not in NORMALISED or not (row.get("provider_message_id") or "").strip():
            batch.bad.append({"source": str(path), "location": f"line {number}", "raw": raw,
                              "reason": f"unknown status {row.get('status')!r}" if status not in NORMALISED
                              else "provider_message_id missing"})
            continue
        batch.events.append({"provider": "csv", "provider_message_id": row["provider_message_id"].strip(),
                             "status": status, "raw_status": row["status"], "error_code": row.get("error_code") or None,
                             "permanent": False, "event_at": event_at.to_pydatetime(), "received_at": now,
                             "source": str(path), "raw": raw})


def ingest(paths: Iterable[str | os.PathLike[str]], *, fmt: str = "auto", db: str | os.PathLike[str] | None = None,
           con: duckdb.DuckDBPyConnection | None = None) -> dict[str, int]:
    """Load report/reply files; one transaction per file. Returns loaded/duplicates/quarantined."""
    own = con is None
    con = con or store.connect(db)
    counts = Counts()
    try:
        for raw_path in paths:
            path = Path(raw_path)
            if not path.is_file():
                raise InputError(f"{path}: no such file")
            data = path.read_bytes()
            batch = Batch()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("utf-8", "replace")
                batch.bad.append({"source": str(path), "location": "whole file", "raw": text[:10000],
                                  "reason": "not UTF-8 text"})
                _commit(con, batch, counts)
                continue
            kind = _detect(path, text[:4096]) if fmt == "auto" else fmt
            if kind == "journal":
                for number, line in enumerate(text.splitlines(), start=1):
                    if line.strip():
                        _parse_envelope(line, str(path), f"line {number}", batch)
            elif kind == "infobip":
                _infobip_file(path, text, batch)
            elif kind == "csv":
                _csv_file(path, text, batch)
            else:
                raise NotAvailableError(f"--format {kind} is not available yet (planned: issue #7, receiving)")
            _commit(con, batch, counts)
    finally:
        if own:
            con.close()
    return counts.as_dict()
