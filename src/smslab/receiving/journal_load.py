"""Load the landing-zone journal (`smslab load`): new webhook records into DuckDB, once each.

`load()` reads each journal file from where it stopped last time (a byte offset per file,
committed in the same transaction as the rows), so it is safe while `smslab serve` writes:
a line still being written waits for the next load. Each envelope's body goes to the parser
of its (provider, kind) in the format registry (`receiving.formats.body_parser`); Infobip
delivery reports take the SQL path (`receiving.fast`) first. A line that cannot be read is
quarantined with its file and line.

Example:
    >>> import tempfile
    >>> from smslab.receiving.journal_load import load
    >>> load(db=":memory:", landing=tempfile.mkdtemp())   # an empty journal
    {'loaded': 0, 'duplicates': 0, 'quarantined': 0}
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from smslab import config, store
from smslab.errors import InputError
from smslab.receiving.batches import Batch, Counts, LineHandler, commit, split_lines
from smslab.receiving.formats import body_parser
from smslab.receiving.journal import journal_files


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
    parser = body_parser(provider, kind)
    if parser is None:
        batch.bad.append(
            {
                "source": source,
                "location": location,
                "raw": line,
                "reason": f"no parser for provider {provider!r} kind {kind!r}",
            }
        )
        return
    try:
        if not isinstance(body, str):
            body = json.dumps(body)
        result = parser(body, content_type if isinstance(content_type, str) else None, received_at)
    except (ValueError, TypeError, AttributeError, KeyError, UnicodeError) as exc:
        batch.bad.append({"source": source, "location": location, "raw": line, "reason": f"unparseable body: {exc}"})
        return
    batch.add(result, source=source, location=location, raw=line, received_at=received_at)


def envelope_handler(source: str) -> LineHandler:
    """Parse each line as a journal envelope (also for journal files given to `ingest`)."""

    def handle(number: int, text: str, batch: Batch) -> None:
        _parse_envelope(text, source, f"line {number}", batch)

    return handle


def load(
    *,
    db: str | os.PathLike[str] | None = None,
    landing: str | os.PathLike[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> dict[str, int]:
    """Move new journal lines into DuckDB, one transaction per batch. Returns loaded/duplicates/quarantined."""
    counts = Counts()
    root = config.landing_dir(landing)
    if landing is not None and not Path(root).is_dir():  # before the database is opened (or made)
        raise InputError(
            f"--landing {landing}: no such folder; give the journal folder `smslab serve` writes "
            f"(default: $SMSLAB_LANDING or data/landing)"
            if not Path(root).exists()
            else f"--landing {landing}: is a file, not the journal folder"
        )
    with store.using(con, db) as con:
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
            for _, stop, first, lines, batch in split_lines(
                complete, line_no + 1, rel, "journal", None, envelope_handler(rel)
            ):
                commit(con, batch, counts, (rel, offset + stop, first + lines - 1))
    return counts.as_dict()
