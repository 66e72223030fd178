"""Batches and transactions: parsed rows of many lines written to DuckDB in one transaction each.

A `Batch` collects what the parsers made of up to `BATCH_LINES` lines (events, replies,
quarantined records, and the lines the SQL path `receiving.fast` takes first); `commit`
writes it in one transaction: new delivery events only (deduplicated by `event_id`), the
messages they touch re-rolled (`receiving.status_rollup`), replies and consent
(`receiving.replies`), quarantine, and the quarantine rows of earlier loads that this batch
resolves. `split_lines` cuts a file's bytes into such batches.

Example:
    >>> from smslab import store
    >>> from smslab.receiving.generic import parse_row
    >>> con, batch, counts = store.connect(":memory:"), Batch(), Counts()
    >>> row = {"provider_message_id": "a1", "status": "delivered", "event_at": "2026-12-01T14:00:09Z"}
    >>> batch.add(parse_row(row), source="/r.csv", location="line 2", raw="a1,delivered,2026-12-01T14:00:09Z")
    >>> commit(con, batch, counts)
    >>> counts.as_dict()
    {'loaded': 1, 'duplicates': 0, 'quarantined': 0}
"""

from __future__ import annotations

import hashlib
import mmap
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from smslab import store
from smslab.clock import utcnow
from smslab.receiving import fast
from smslab.receiving.records import EVENT_COLUMNS, Result
from smslab.receiving.replies import write_replies
from smslab.receiving.status_rollup import refresh_statuses

# lines per transaction; large enough for DuckDB to write whole row groups (122,880 rows) straight
# to the file instead of through the write-ahead log
BATCH_LINES = 1_000_000
# handle(line number, text, batch): parse one line of text into the batch
LineHandler = Callable[[int, str, "Batch"], None]


@dataclass
class FastChunk:
    """Lines for the SQL path (`receiving.fast`) and how to parse the ones it leaves."""

    table: pa.Table
    mode: str  # journal | infobip
    source: str
    received_at: datetime | None
    fallback: LineHandler
    checked: bool = False  # `fast.check` ran on `table` (before the transaction)


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

    def add(self, result: Result, *, source: str, location: str, raw: str, received_at: datetime | None = None) -> None:
        """Add a parser's result; each problem becomes a quarantined record at `location`."""
        events, replies, problems = result
        self.places.add((source, _place(location)))
        if not all(_encodable(row) for row in events + replies):
            # JSON escapes can spell lone surrogates ("\ud800"): not text DuckDB (or anyone) can store
            events, replies, problems = (
                [],
                [],
                [*problems, "record: text with a lone surrogate escape (not valid Unicode)"],
            )
        for row in events + replies:
            row.setdefault("received_at", received_at)
            if row["received_at"] is None:
                row["received_at"] = received_at or utcnow()
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


def _write(con: duckdb.DuckDBPyConnection, batch: Batch, counts: Counts) -> None:
    """Insert one batch (call inside a transaction)."""
    staged = None
    if batch.fast is not None:
        chunk = batch.fast
        staged = fast.stage(
            con, chunk.table, mode=chunk.mode, source=chunk.source, received_at=chunk.received_at, checked=chunk.checked
        )
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
                frame[column] = frame[column] if column in frame else None
                frame[column] = frame[column].astype(dtype)
            frame["event_id"] = [_event_id(e) for e in batch.events]
            frame["permanent"] = frame["permanent"].astype("boolean")
            frame["seq"] = np.arange(len(frame), dtype=np.int64)
            frame["event_at"] = pd.to_datetime(frame["event_at"])
            frame["received_at"] = pd.to_datetime(frame["received_at"])
            con.register("_py_events", frame[fast.STAGED_COLUMNS])
            con.execute(_insert_new("_py_events", cols))
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _py_ids AS SELECT provider_message_id FROM _py_events "
                "UNION SELECT message_ref FROM _py_events"
            )
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
        loaded, duplicates = write_replies(con, batch.replies)
        counts.loaded += loaded
        counts.duplicates += duplicates
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
        store.resolve_quarantine(
            con, source, {p for s, p in batch.places if s == source}, lines, {p for s, p in bad if s == source}
        )


def _insert_new(name: str, cols: str) -> str:
    """SQL adding the events of `name` whose event_id is new: not in dlr_events, first of the batch."""
    return f"""INSERT INTO dlr_events ({cols})
               SELECT {cols} FROM {name} WHERE event_id NOT IN (SELECT event_id FROM dlr_events)
               QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY seq) = 1"""


def commit(con: duckdb.DuckDBPyConnection, batch: Batch, counts: Counts, offset: tuple | None = None) -> None:
    if batch.fast is not None and not batch.fast.checked:  # the JSON parse, outside the transaction
        chunk = batch.fast
        fast.check(con, chunk.table, mode=chunk.mode, received_at=chunk.received_at)
        chunk.checked = True
    con.execute("BEGIN TRANSACTION")
    try:
        _write(con, batch, counts)
        if offset is not None:
            con.execute("INSERT OR REPLACE INTO journal_offsets VALUES (?, ?, ?, ?)", [*offset, utcnow()])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _slow_lines(data: bytes, first_line: int, source: str, batch: Batch, handle: LineHandler) -> None:
    """Line by line in Python (bytes that are not all UTF-8): undecodable lines are quarantined."""
    for number, raw in enumerate(
        data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"), start=first_line
    ):
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            batch.bad.append(
                {
                    "source": source,
                    "location": f"line {number}",
                    "raw": raw,  # the bytes, as read
                    "reason": "not UTF-8",
                }
            )
            continue
        if text.strip():
            handle(number, text, batch)


def split_lines(
    data: bytes | mmap.mmap,
    first_line: int,
    source: str,
    mode: str | None,
    received_at: datetime | None,
    handle: LineHandler,
) -> Iterator[tuple[int, int, int, int, Batch]]:
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
            batch.fast = FastChunk(
                table.slice(i, lines),
                mode,
                source,
                received_at,
                lambda n, text, b: handle(n, text, b) if text.strip() else None,
            )
        else:
            _slow_lines(data[start:stop], first_line + i, source, batch, handle)
        yield start, stop, first_line + i, lines, batch
