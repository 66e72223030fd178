"""Ingest report files (`smslab ingest`): provider exports, callback dumps, receipts, journals.

`ingest(paths, fmt=)` reads each file (gzip too) in the format `fmt` names, or the one
`receiving.formats.detect` finds: JSON lines or one JSON document, CSV exports, SMPP receipt
text, journal files, or the generic CSV `provider_message_id,status,event_at[,error_code]`.
Every record lands or is quarantined with its file and line. The file is recorded (as
`source` of its rows) by its absolute path with symlinks resolved (`source_of`), so `./r.csv`,
`r.csv` and `/data/r.csv` are one source: a corrected record loaded later under any of those
spellings resolves the quarantined one. Loading the same file again adds nothing.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = path.write_text("provider_message_id,status,event_at\\na1,delivered,2026-12-01T14:00:09Z\\n")
    >>> ingest([path], db=":memory:")
    {'loaded': 1, 'duplicates': 0, 'quarantined': 0}
"""

from __future__ import annotations

import csv
import io
import json
import mmap
import os
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from smslab import store
from smslab.clock import utcnow
from smslab.errors import InputError
from smslab.receiving.batches import Batch, Counts, LineHandler, commit, split_lines
from smslab.receiving.formats import Format, RecordParser, detect, get
from smslab.receiving.journal_load import envelope_handler


def source_of(path: str | os.PathLike[str]) -> str:
    """How a report file is named in `source` (dlr_events, inbound, quarantine): its absolute
    path with symlinks resolved, the same whichever way the file was given.

    >>> import os
    >>> source_of("r.csv") == source_of("./r.csv") == os.path.realpath("r.csv")
    True
    """
    return str(Path(path).resolve())


def _parse_into(
    batch: Batch,
    parse: RecordParser,
    record: Any,
    received_at: datetime,
    *,
    source: str,
    number: int,
    raw: str,
    what: str,
) -> None:
    """Parse one record into the batch; a parser's refusal becomes a quarantine reason, not a stop."""
    try:
        result = parse(record, received_at)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        result = [], [], [f"{what}: {exc}"]
    batch.add(result, source=source, location=f"line {number}", raw=raw, received_at=received_at)


def _json_handler(source: str, received_at: datetime, parse: RecordParser) -> LineHandler:
    def handle(number: int, text: str, batch: Batch) -> None:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            batch.bad.append(
                {"source": source, "location": f"line {number}", "raw": text, "reason": f"malformed JSON: {exc}"}
            )
            return
        _parse_into(batch, parse, doc, received_at, source=source, number=number, raw=text, what="record")

    return handle


def _csv_rows(
    path: Path, source: str, text: str, batch: Batch, parse: RecordParser, now: datetime, required: tuple[str, ...] = ()
) -> None:
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
        raise InputError(
            f"{path}: line 1: missing column(s) {', '.join(sorted(missing))}; expected "
            "provider_message_id,status,event_at[,error_code]"
        )
    number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            number = reader.line_num
            batch.bad.append(
                {"source": source, "location": f"line {number}", "raw": as_written(number), "reason": f"bad CSV: {exc}"}
            )
            continue
        number = reader.line_num
        clean = {k: v for k, v in row.items() if k is not None}
        raw = as_written(number)
        if None in row:
            batch.bad.append(
                {
                    "source": source,
                    "location": f"line {number}",
                    "raw": raw,
                    "reason": "more fields than the header has",
                }
            )
            continue
        _parse_into(batch, parse, clean, now, source=source, number=number, raw=raw, what="row")


def _is_csv(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return not first.lstrip().startswith("{")


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    *,
    fmt: str = "auto",
    db: str | os.PathLike[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> dict[str, int]:
    """Load report/reply files, one transaction per batch of lines. Returns loaded/duplicates/quarantined.

    Loading the same file again adds nothing (it counts as duplicates); bad records are
    quarantined with the file and line. A missing file or an unknown format is an InputError.
    """
    if fmt != "auto":
        get(fmt)  # an unknown --format is refused before any file is read
    files = [Path(p) for p in paths]
    for path in files:
        if not path.is_file():
            if path.is_dir():
                raise InputError(
                    f"{path}: is a folder; pass the report files in it (e.g. {path}/*.jsonl), "
                    "or use `smslab load` for the webhook journal"
                )
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


def _read_file(path: Path) -> tuple[bytes | mmap.mmap, Path]:
    """The bytes of a report file, gunzipped when it is gzip (exports and logs often are), and
    the name its format is told from (reports.jsonl for reports.jsonl.gz).

    A plain file is memory-mapped, not read: the SQL path reads its lines where they lie
    (`fast.lines_table`), so a file of any size is never copied into memory. Ingest a file
    that is complete: one cut short while it is read is a crash, not a partial load (the
    transaction of the batch then loads nothing)."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
        if magic != b"\x1f\x8b":
            if not magic:
                return b"", path
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ), path
    import gzip
    import zlib

    try:
        data = gzip.decompress(path.read_bytes())
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
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    source, now = source_of(path), utcnow()
    head = data[:8192].decode("utf-8", "replace")
    kind = get(detect(named, head) if fmt == "auto" else fmt)
    if kind.envelopes:
        for *_, batch in split_lines(data, 1, source, kind.fast, None, envelope_handler(source)):
            commit(con, batch, counts)
        return
    if kind.csv_row is not None and (kind.json_record is None or _is_csv(head)):
        _ingest_csv(con, path, source, data[:], kind, now, counts)
        return
    handler: LineHandler
    if kind.json_record is not None:
        if kind.whole_document:
            whole = _whole_document(data)
            if whole is not None:
                batch = Batch()
                _json_handler(source, now, kind.json_record)(1, whole, batch)
                commit(con, batch, counts)
                return
        handler = _json_handler(source, now, kind.json_record)
    elif kind.text_line is not None:
        handler = _text_handler(source, now, kind.text_line)
    else:
        raise InputError(f"--format {kind.name}: no reader for files of this format")
    for *_, batch in split_lines(data, 1, source, kind.fast, now, handler):
        commit(con, batch, counts)


def _text_handler(source: str, received_at: datetime, parse: RecordParser) -> LineHandler:
    def handle(number: int, text: str, batch: Batch) -> None:
        batch.add(parse(text, received_at), source=source, location=f"line {number}", raw=text, received_at=received_at)

    return handle


def _ingest_csv(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, data: bytes, kind: Format, now: datetime, counts: Counts
) -> None:
    """A CSV file with a header: the generic shape, or a provider's export."""
    assert kind.csv_row is not None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        batch = Batch()
        batch.bad.append({"source": source, "location": "whole file", "raw": data, "reason": "not UTF-8 text"})
        commit(con, batch, counts)
        return
    batch = Batch()
    _csv_rows(path, source, text, batch, kind.csv_row, now, kind.csv_required)
    commit(con, batch, counts)


def _whole_document(data: bytes | mmap.mmap) -> str | None:
    """The text of a file that is one JSON document spread over several lines (a pretty-printed
    webhook body); None for JSON lines (the first line is a document by itself)."""
    end = data.find(b"\n")
    first = data[:end] if end >= 0 else data[:]
    try:
        json.loads(first)
        return None
    except ValueError:
        pass
    try:
        text = data[:].decode("utf-8")
        json.loads(text)
        return text
    except ValueError:
        return None
