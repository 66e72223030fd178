"""The DuckDB-native path for Infobip delivery reports: JSON parsed, checked and normalised in SQL.

Lines arrive as an Arrow table `(line_no, line)` built over the file's bytes without a Python
object per line (`lines_table`). `stage` parses every line with DuckDB's JSON functions and
keeps, as rows of `_staged`, the reports it can take with certainty: each field of the exact
type and shape the Python parser (`infobip.parse_dlr`) accepts, a known status group and a
timestamp of the usual Infobip form. Every other line — malformed JSON, an unknown status, a
bad timestamp, an inbound message, anything unusual — is returned to the caller, which runs
the Python parser on it, so those records are loaded or quarantined with exactly the reasons
and locations the Python path gives. Both paths produce the same `event_id`, so the same
report read either way is one report.

Two line shapes: `journal` (landing-zone envelopes whose `body` is an Infobip report body;
`provider` must be infobip and `kind` dlr) and `infobip` (a file of JSON lines, each a
`{"results": [...]}` body or a single report).

Example:
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> table = lines_table(b'{"messageId":"m1","doneAt":"2026-12-01T14:00:05.000+0000",'
    ...                     b'"status":{"groupId":3,"id":5,"name":"DELIVERED_TO_HANDSET"}}\\n{oops\\n')
    >>> stage(con, table, mode="infobip", source="f.jsonl", received_at=None)
    [(2, '{oops')]
    >>> con.execute("SELECT provider_message_id, status, event_at FROM _staged").fetchall()
    [('m1', 'delivered', datetime.datetime(2026, 12, 1, 14, 0, 5))]
"""
from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

STAGED_COLUMNS = ["event_id", "provider", "provider_message_id", "status", "raw_status", "error_code",
                  "permanent", "event_at", "received_at", "source", "raw", "message_ref", "seq"]
_STAMP = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}(Z|[+-]\d{2}:?\d{2})$"
_RECEIVED = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{6})?$"
_INT = "('UBIGINT', 'BIGINT')"


def lines_table(data: bytes, first_line: int = 1) -> pa.Table | None:
    """(line_no, line) over the whole lines of `data` (split on \\n, a trailing \\r dropped in SQL);
    None when the bytes are not valid UTF-8 (the caller then reads line by line)."""
    if not data:
        return pa.table({"line_no": pa.array([], pa.int64()), "line": pa.array([], pa.large_string())})
    if not data.endswith(b"\n"):
        data += b"\n"
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    offsets = np.empty(len(ends) + 1, np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1  # each value keeps its "\n"; SQL trims it
    lines = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return None
    numbers = pa.array(np.arange(first_line, first_line + len(ends), dtype=np.int64))
    return pa.table({"line_no": numbers, "line": lines})


def _docs_sql(mode: str) -> str:
    line = "rtrim(line, chr(10) || chr(13))"
    if mode == "journal":
        # nested CASEs: DuckDB may reorder an AND, and JSON functions raise on invalid JSON
        return f"""
            SELECT line_no, line,
                   CASE WHEN json_valid(line) THEN CASE WHEN json_type(line) = 'OBJECT' THEN
                       CASE WHEN json_type(line, '$.body') = 'VARCHAR' AND line->>'$.provider' = 'infobip'
                                 AND line->>'$.kind' = 'dlr'
                                 AND regexp_matches(coalesce(line->>'$.received_at', ''), '{_RECEIVED}')
                            THEN line->>'$.body' END END END AS doc,
                   TRY_CAST(CASE WHEN json_valid(line) THEN CASE WHEN json_type(line) = 'OBJECT'
                            THEN line->>'$.received_at' END END AS TIMESTAMP) AS received_at
            FROM (SELECT line_no, {line} AS line FROM _lines)"""
    return f"SELECT line_no, {line} AS line, {line} AS doc, $received_at::TIMESTAMP AS received_at FROM _lines"


def stage(con: duckdb.DuckDBPyConnection, table: pa.Table, *, mode: str, source: str,
          received_at: datetime | None) -> list[tuple[int, str]]:
    """Parse `table` into the temp table `_staged` (columns `STAGED_COLUMNS`); return the
    (line_no, line) the SQL path did not take, for the Python parser. Blank lines are skipped."""
    inbound_keys = "" if mode == "journal" else (
        " AND json_type(item, '$.receivedAt') IS NULL AND json_type(item, '$.cleanText') IS NULL")
    con.register("_lines", table)
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _docs AS
            SELECT line_no, line, received_at,
                   CASE WHEN json_valid(doc) THEN CASE WHEN json_type(doc) = 'OBJECT' THEN
                       CASE WHEN json_type(doc, '$.results') = 'ARRAY' THEN json_extract(doc, '$.results[*]')
                            WHEN json_type(doc, '$.results') IS NULL AND json_type(doc, '$.messageId') IS NOT NULL
                                 THEN [doc::JSON] END END END AS items
            FROM ({_docs_sql(mode)}) WHERE trim(line, ' ' || chr(9) || chr(13)) <> ''
        """, {"received_at": received_at} if mode != "journal" else {})
    finally:
        con.unregister("_lines")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _items AS
        WITH flat AS (
            SELECT line_no, received_at, item, json_type(item, [
                       '$.messageId', '$.status', '$.status.groupId', '$.status.id', '$.status.name',
                       '$.status.groupName', '$.doneAt', '$.sentAt', '$.error', '$.error.id', '$.error.permanent'
                   ]) AS t,
                   json_extract_string(item, [
                       '$.messageId', '$.status.groupId', '$.status.id', '$.status.name', '$.status.groupName',
                       '$.doneAt', '$.sentAt', '$.error.id', '$.error.permanent'
                   ]) AS v
            FROM (SELECT line_no, received_at, unnest(items) AS item FROM _docs WHERE items IS NOT NULL)
        ), fields AS (
            SELECT line_no, received_at, item, t, v,
                   CASE WHEN coalesce(v[6], '') <> '' THEN v[6] ELSE v[7] END AS stamp,
                   TRY_CAST(v[2] AS BIGINT) AS gid, TRY_CAST(v[3] AS BIGINT) AS sid
            FROM flat
        )
        SELECT line_no, received_at, item, v, gid, sid,
               timezone('UTC', TRY_CAST(stamp AS TIMESTAMPTZ)) AS event_at,
               json_type(item) = 'OBJECT'
               AND t[1] = 'VARCHAR' AND v[1] <> ''
               AND t[2] = 'OBJECT' AND t[3] IN {_INT} AND gid BETWEEN 1 AND 5
               AND (t[4] IS NULL OR t[4] = 'NULL' OR (t[4] IN {_INT} AND sid IS NOT NULL))
               AND (t[5] IS NULL OR t[5] IN ('NULL', 'VARCHAR')) AND (t[6] IS NULL OR t[6] IN ('NULL', 'VARCHAR'))
               AND (t[7] IS NULL OR t[7] IN ('NULL', 'VARCHAR'))
               AND (coalesce(v[6], '') <> '' OR t[8] = 'VARCHAR')
               AND regexp_matches(coalesce(stamp, ''), '{_STAMP}')
               AND (t[9] IS NULL OR t[9] IN ('NULL', 'OBJECT'))
               AND (t[10] IS NULL OR t[10] = 'NULL' OR (t[10] IN {_INT} AND TRY_CAST(v[8] AS BIGINT) IS NOT NULL))
               AND (t[11] IS NULL OR t[11] IN ('NULL', 'BOOLEAN'))
               {inbound_keys} AS simple
        FROM fields
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _simple_lines AS
        SELECT line_no FROM _docs d
        WHERE items IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM _items i WHERE i.line_no = d.line_no AND NOT (i.simple AND i.event_at IS NOT NULL))
    """)
    iso = ("strftime(event_at, '%Y-%m-%dT%H:%M:%S') || "
           "CASE WHEN epoch_us(event_at) % 1000000 <> 0 THEN strftime(event_at, '.%f') ELSE '' END")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _staged AS
        WITH ok AS (
            SELECT i.line_no, i.received_at, i.item, i.event_at, v[1] AS pmid,
                   CASE WHEN sid = 2 AND gid IN (1, 3) THEN 'sent' WHEN sid = 26 AND gid IN (1, 3) THEN 'submitted'
                        ELSE ['sent', 'undelivered', 'delivered', 'expired', 'rejected'][gid] END AS status,
                   coalesce(nullif(v[4], ''), nullif(v[5], ''), v[2]) AS raw_status,
                   CASE WHEN TRY_CAST(v[8] AS BIGINT) IS NULL OR TRY_CAST(v[8] AS BIGINT) = 0 THEN NULL
                        ELSE CAST(TRY_CAST(v[8] AS BIGINT) AS VARCHAR) END AS error_code,
                   coalesce(v[9] = 'true', false) AS permanent
            FROM _items i SEMI JOIN _simple_lines s ON i.line_no = s.line_no
        )
        SELECT sha1('infobip|' || pmid || '|' || raw_status || '|' || coalesce(error_code, 'None') || '|' || {iso})
                   AS event_id,
               'infobip' AS provider, pmid AS provider_message_id, status, raw_status, error_code, permanent,
               event_at, received_at, $source AS source, item::VARCHAR AS raw, pmid AS message_ref,
               line_no AS seq
        FROM ok
    """, {"source": source})
    rest = con.execute("""
        SELECT line_no, line FROM _docs d ANTI JOIN _simple_lines s ON d.line_no = s.line_no
        WHERE NOT (d.items IS NOT NULL AND len(d.items) = 0)
        ORDER BY line_no
    """).fetchall()
    con.execute("DROP TABLE IF EXISTS _docs; DROP TABLE IF EXISTS _items; DROP TABLE IF EXISTS _simple_lines")
    return rest
