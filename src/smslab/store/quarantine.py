"""The quarantine: every record that could not be loaded, kept byte for byte with its reason.

Example:
    >>> from smslab.store.connection import connect
    >>> con = connect(":memory:")
    >>> quarantine(con, [{"source": "f.csv", "location": "line 2", "raw": b"\\xff", "reason": "not UTF-8"}])
    1
"""

from __future__ import annotations

from typing import Any

import duckdb

from smslab.clock import utcnow
from smslab.store.queries import scalar

TABLES = [
    "campaigns",
    "audience",
    "messages",
    "dlr_events",
    "inbound",
    "consent",
    "quarantine",
    "findings",
    "conversions",
    "recipient_checks",
    "journal_offsets",
    "inbound_parts",
]


def _raw_bytes(raw: Any) -> bytes:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return bytes(raw)
    return str(raw).encode("utf-8", "surrogatepass")


def quarantine(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> int:
    """Record records that could not be loaded: dicts with source, location, raw, reason.

    `raw` is the record exactly as received: bytes (kept byte for byte, UTF-8 or not) or text;
    nothing is cut, whatever its length. Idempotent: the same (source, location, raw) is kept
    once. Returns how many were new.

    Example:
        >>> from smslab.store import connect
        >>> con = connect(":memory:")
        >>> bad = {"source": "r.txt", "location": "line 2", "raw": b"id;\\xe9t\\xe9", "reason": "not UTF-8"}
        >>> quarantine(con, [bad])
        1
        >>> con.execute("SELECT raw_bytes, raw FROM quarantine").fetchone()
        (b'id;\\xe9t\\xe9', 'id;\\ufffdt\\ufffd')
    """
    if not rows:
        return 0
    import hashlib

    import pandas as pd

    blobs = [_raw_bytes(r["raw"]) for r in rows]
    frame = pd.DataFrame(
        {
            "quarantine_id": [
                hashlib.sha1(f"{r['source']}|{r['location']}|".encode("utf-8", "replace") + b).hexdigest()
                for r, b in zip(rows, blobs, strict=True)
            ],
            "source": [str(r["source"]) for r in rows],
            "location": [str(r["location"]) for r in rows],
            "raw": [b.decode("utf-8", "replace") for b in blobs],
            "reason": [str(r["reason"]) for r in rows],
            "quarantined_at": utcnow(),
            "raw_bytes": blobs,
        }
    ).drop_duplicates("quarantine_id")
    before = scalar(con, "SELECT count(*) FROM quarantine")
    con.register("_q", frame)
    con.execute(
        "INSERT INTO quarantine (quarantine_id, source, location, raw, reason, quarantined_at, raw_bytes) "
        "SELECT quarantine_id, source, location, raw, reason, quarantined_at, raw_bytes::BLOB FROM _q "
        "WHERE quarantine_id NOT IN (SELECT quarantine_id FROM quarantine)"
    )
    con.unregister("_q")
    return scalar(con, "SELECT count(*) FROM quarantine") - before


_PLACE = r"^(line [0-9]+|whole file)"


def resolve_quarantine(
    con: duckdb.DuckDBPyConnection,
    source: str,
    loaded: set[str],
    lines: tuple[int, int] | None = None,
    still_bad: frozenset[str] | set[str] = frozenset(),
) -> int:
    """Mark resolved the open quarantine rows of `source` whose place has now loaded.

    A place is 'line N' (or 'whole file'): `loaded` lists the places read in this batch,
    `lines` a range of line numbers read, `still_bad` the places quarantined again now (those
    stay open). Returns how many rows were resolved.
    """
    if not scalar(con, "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL AND source = ?", [source]):
        return 0
    import pandas as pd

    places = pd.DataFrame({"place": sorted(set(loaded) - set(still_bad)) or [""]})
    bad = pd.DataFrame({"place": sorted(still_bad) or [""]})
    con.register("_q_loaded", places)
    con.register("_q_bad", bad)
    low, high = lines if lines else (0, -1)
    try:
        before = scalar(con, "SELECT count(*) FROM quarantine WHERE resolved_at IS NOT NULL")
        con.execute(
            f"""UPDATE quarantine SET resolved_at = ?
                        WHERE resolved_at IS NULL AND source = ?
                          AND regexp_extract(location, '{_PLACE}', 1) NOT IN (SELECT place FROM _q_bad)
                          AND (regexp_extract(location, '{_PLACE}', 1) IN (SELECT place FROM _q_loaded)
                               OR TRY_CAST(regexp_extract(location, '^line ([0-9]+)', 1) AS BIGINT)
                                  BETWEEN ? AND ?)""",
            [utcnow(), source, low, high],
        )
        return scalar(con, "SELECT count(*) FROM quarantine WHERE resolved_at IS NOT NULL") - before
    finally:
        con.unregister("_q_loaded")
        con.unregister("_q_bad")
