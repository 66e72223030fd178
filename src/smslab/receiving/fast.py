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
    >>> from smslab import store
    >>> con = store.connect(":memory:")
    >>> table = lines_table(b'{"messageId":"m1","doneAt":"2026-12-01T14:00:05.000+0000",'
    ...                     b'"status":{"groupId":3,"id":5,"name":"DELIVERED_TO_HANDSET"}}\\n{oops\\n')
    >>> stage(con, table, mode="infobip", source="f.jsonl", received_at=None)
    Staged(total=1, rest=[(2, '{oops')])
    >>> con.execute("SELECT provider_message_id, status, event_at FROM _staged").fetchall()
    [('m1', 'delivered', datetime.datetime(2026, 12, 1, 14, 0, 5))]
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from smslab import sql, store
from smslab.receiving.records import EVENT_COLUMNS
from smslab.receiving.statuses import infobip_status_sql

STAGED_COLUMNS = [*EVENT_COLUMNS, "seq"]  # seq: the order within a batch (first one wins)
_RECEIVED = r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{6})?$"


def newlines(data: bytes | mmap.mmap, block: int = 1 << 24) -> np.ndarray:
    """Byte position of each \\n in `data` (found in blocks that stay in the CPU cache: one
    comparison over a whole GB-sized file is several times slower)."""
    raw = np.frombuffer(data, np.uint8)
    found = [np.flatnonzero(raw[i : i + block] == 10) + i for i in range(0, len(raw), block)]
    return np.concatenate(found) if found else np.zeros(0, np.int64)


_CHUNK = 1 << 30  # a view's offset is an int32: the bytes are shared as buffers starting every GiB


def lines_table(data: bytes | mmap.mmap, first_line: int = 1, breaks: np.ndarray | None = None) -> pa.Table | None:
    """(line_no, line) over the lines of `data`, each without its \\n or \\r\\n; None when the
    bytes are not valid UTF-8 (the caller then reads line by line). `breaks`: `newlines(data)`
    when the caller has them already. A last line without \\n counts as a line.

    The lines are an Arrow string-view array: one 16-byte view per line (its length, and its
    place in `data`, or the text itself when it is 12 bytes or less) over the file's own bytes.
    Nothing is copied, no Python object is made per line, and SQL never trims a line.
    """
    if breaks is None:
        breaks = newlines(data)
    ends = breaks if not len(data) or data[-1:] == b"\n" else np.append(breaks, len(data))
    n = len(ends)
    numbers = pa.array(np.arange(first_line, first_line + n, dtype=np.int64))
    if n == 0:
        return pa.table({"line_no": numbers, "line": pa.array([], pa.string_view())})
    raw = np.frombuffer(data, np.uint8)
    starts = np.empty(n, np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts
    cr = np.zeros(n, bool)
    some = lengths > 0
    cr[some] = raw[ends[some] - 1] == 13
    lengths -= cr
    # one view a line, as four little-endian int32: length, then (a long line) its first 4 bytes,
    # the buffer it is in and its offset there, or (12 bytes or less) the text itself
    views = np.zeros((n, 4), "<i4")
    views[:, 0] = lengths
    long = lengths > 12
    at = starts[long]
    # a long line has at least 13 bytes from its start: its first 4 bytes are all in `raw`
    prefix = raw[at].astype("<u4")
    for k in (1, 2, 3):
        prefix |= raw[at + k].astype("<u4") << (8 * k)
    views[long, 1] = prefix.view("<i4")
    chunk = at // _CHUNK
    views[long, 2] = chunk
    views[long, 3] = at - chunk * _CHUNK
    if not long.all():
        short = ~long
        head = np.arange(12)
        window = raw[np.minimum(starts[short, None] + head, len(raw) - 1)]
        window[head >= lengths[short, None]] = 0
        views.view(np.uint8).reshape(n, 16)[short, 4:16] = window
    shared = memoryview(data)
    buffers = [pa.py_buffer(shared[i * _CHUNK :]) for i in range(int(starts[-1] // _CHUNK) + 1)]
    lines = pa.Array.from_buffers(pa.string_view(), n, [None, pa.py_buffer(views), *buffers])
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return pa.table({"line_no": numbers, "line": lines})


_ITEM = (
    '{"messageId": "JSON", "status": {"groupId": "JSON", "id": "JSON", "name": "JSON", "groupName": "JSON"}, '
    '"doneAt": "JSON", "sentAt": "JSON", "error": {"id": "JSON", "permanent": "JSON"}, '
    '"receivedAt": "JSON", "cleanText": "JSON", "mccMnc": "VARCHAR", '
    '"price": {"pricePerMessage": "JSON", "currency": "JSON"}, "smsCount": "JSON", "messageCount": "JSON"'
)
_ITEM += "}"
_DOC = _ITEM[:-1] + ', "results": [' + _ITEM + "]}"
# typed VARCHAR: a JSON string comes out unescaped, anything else as its JSON text (as the
# Python loader does with a body that is not a string: it reads its JSON text)
_ENVELOPE = '{"provider": "VARCHAR", "kind": "VARCHAR", "received_at": "VARCHAR", "body": "VARCHAR"}'


def _valid(text: str, optimistic: bool) -> str:
    """SQL guard before a JSON parse of `text`: `json_valid` (a full parse of its own), or, when
    `optimistic`, only "starts with { and ends with }" — then a malformed line that passes the
    guard makes the statement fail, and `check` runs it again with `json_valid`."""
    return f"starts_with({text}, '{{') AND ends_with({text}, '}}')" if optimistic else f"json_valid({text})"


def _docs_sql(mode: str, received_at: datetime | None, lines: str = "_lines", optimistic: bool = False) -> str:
    """(line_no, doc, received_at): `doc` is the report body text, NULL when the line is not one
    the SQL path takes (malformed JSON among them: those lines go to Python)."""
    if mode == "journal":
        return f"""
            SELECT line_no, CASE WHEN e.provider = 'infobip' AND e.kind = 'dlr'
                                      AND regexp_matches(coalesce(e.received_at, ''), '{_RECEIVED}')
                                 THEN e.body END AS doc,
                   TRY_CAST(e.received_at AS TIMESTAMP) AS received_at
            FROM (SELECT line_no,
                         CASE WHEN {_valid("line", optimistic)} THEN json_transform(line, '{_ENVELOPE}') END AS e
                  FROM {lines} WHERE line <> '')"""
    stamp = "NULL::TIMESTAMP" if received_at is None else f"TIMESTAMP '{received_at.isoformat(sep=' ')}'"
    return f"""SELECT line_no, line AS doc, {stamp} AS received_at
               FROM {lines} WHERE line <> ''"""


def _integer(field: str) -> str:
    """SQL: the JSON text `field` is a non-negative integer literal (no fraction or exponent) of
    at most 18 digits — read from the text, without parsing it as JSON again (a longer one fits
    no BIGINT and was never taken)."""
    return f"regexp_full_match({field}::VARCHAR, '[0-9]{{1,18}}')"


def _one_item(mode: str, struct: str) -> str:
    """Items of lines holding one report (a single report, or a body with one): no list to
    unnest. A line whose body has several reports is marked `several` (see `_several_items`)."""
    return f"""
            -- a single report (the document is the item) or a body {{"results": [one]}} (its raw text
            -- is the body); a NULL item for anything else (malformed JSON, …)
            SELECT line_no, 0 AS idx, received_at, single, n > 1 AS several,
                   CASE WHEN single THEN d::{struct} WHEN n = 1 THEN d.results[1] END AS r,
                   CASE WHEN single THEN {"doc" if mode == "journal" else "NULL"} WHEN n = 1 THEN doc END AS item
            FROM kinds  -- (no WHERE on `d`: DuckDB would parse the JSON again to filter)"""


def _several_items() -> str:
    """Items of lines whose body has several reports, each with its own JSON text."""
    return """
            SELECT line_no, received_at, single, false AS several, unnest(reports) AS r, unnest(texts) AS item,
                   unnest(range(len(reports))) AS idx
            FROM (SELECT line_no, received_at, single, d.results AS reports,
                         json_extract(doc, '$.results[*]')::VARCHAR[] AS texts
                  FROM kinds)"""


def _pipeline(
    mode: str, received_at: datetime | None, *, several: bool = False, lines: str = "_lines", optimistic: bool = False
) -> str:
    """The query over the table `lines` giving one row per report: the dlr_events columns, `seq`
    (the line number) and `simple` (false when the Python parser must read the line). `several`:
    the pass for bodies with several reports (unnested), else the pass for one report a line.

    One JSON parse per line (`json_transform` with every needed field kept as JSON text, so
    its type can be checked), then small parses of those fields. A field that is absent and
    one that is JSON null look alike after the transform, and so they do to the Python parser
    (`results`, `receivedAt`, `cleanText` set to null count as absent there too)."""
    inbound = "" if mode == "journal" else " AND r.receivedAt IS NULL AND r.cleanText IS NULL"
    # Python's isoformat(): microseconds only when there are some
    full = "strftime(event_at, '%Y-%m-%dT%H:%M:%S.%f')"
    iso = f"CASE WHEN ends_with({full}, '.000000') THEN left({full}, 19) ELSE {full} END"
    struct = (
        "STRUCT(messageId JSON, status STRUCT(groupId JSON, id JSON, name JSON, groupName JSON), "
        "doneAt JSON, sentAt JSON, error STRUCT(id JSON, permanent JSON), receivedAt JSON, cleanText JSON, "
        "mccMnc VARCHAR, price STRUCT(pricePerMessage JSON, currency JSON), smsCount JSON, messageCount JSON)"
    )
    return rf"""
        WITH parsed AS (
            SELECT line_no, received_at, doc,
                   CASE WHEN {_valid("doc", optimistic)} THEN json_transform(doc, '{_DOC}') END AS d
            FROM ({_docs_sql(mode, received_at, lines, optimistic)})
        ), kinds AS (
            SELECT *, coalesce(d.results IS NULL AND d.messageId IS NOT NULL, false) AS single,
                      coalesce(len(d.results), 0) AS n
            FROM parsed
        ), items AS ({_several_items() if several else _one_item(mode, struct)}
        ), fields AS (
            SELECT line_no, idx, received_at, item, single, several, r,
                   r.messageId->>'$' AS pmid,
                   CASE WHEN {_integer("r.status.groupId")} THEN CAST(r.status.groupId::VARCHAR AS BIGINT) END AS gid,
                   CASE WHEN {_integer("r.status.id")} THEN CAST(r.status.id::VARCHAR AS BIGINT) END AS sid,
                   r.status.name->>'$' AS name, r.status.groupName->>'$' AS group_name,
                   r.doneAt->>'$' AS done, r.sentAt->>'$' AS sent,
                   r.error AS e,
                   -- records.mcc_mnc: a string or integer of 5 or 6 digits, taken as written (typed
                   -- VARCHAR: a string unescaped, a number as its text, which is what Python reads)
                   CASE WHEN regexp_full_match(r.mccMnc, '[0-9]{{5,6}}') THEN r.mccMnc END AS operator,
                   -- records.money and records.count, read from the JSON text without parsing it
                   -- again: a plain number and a plain "ABC" string, counts of at most 9 digits; a
                   -- price or count in any other shape sends the line to the Python parser
                   r.price.pricePerMessage::VARCHAR AS ppm, r.price.currency::VARCHAR AS cur,
                   r.smsCount::VARCHAR AS sms_n, r.messageCount::VARCHAR AS msg_n
            FROM items
        ), money AS (  -- each price field matched once (NULL when absent)
            SELECT *, regexp_full_match(ppm, '-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?') AS ppm_ok,
                      regexp_full_match(cur, '"[A-Z]{{3}}"') AS cur_ok,
                      TRY_CAST(ppm AS DOUBLE) AS ppm_value
            FROM fields
        ), checked AS (
            SELECT *, CASE WHEN coalesce(done, '') <> '' THEN done ELSE sent END AS stamp,
                   ppm_ok AND cur_ok AND isfinite(ppm_value) AS money_ok,
                   (ppm IS NULL AND cur IS NULL) OR (ppm_ok AND (cur IS NULL OR cur_ok)) OR (ppm IS NULL AND cur_ok)
                       AS money_plain,
                   (sms_n IS NULL OR regexp_full_match(sms_n, '[0-9]{{1,9}}'))
                       AND (msg_n IS NULL OR regexp_full_match(msg_n, '[0-9]{{1,9}}')) AS counts_plain,
                   CASE WHEN {_integer("e.id")} THEN CAST(e.id::VARCHAR AS BIGINT) END AS eid
            FROM money
        ), normalised AS (
            SELECT line_no, idx, received_at, item, single, several, pmid, operator,
                   CASE WHEN money_ok THEN ppm_value END AS price,
                   CASE WHEN money_ok THEN substr(cur, 2, 3) END AS currency,
                   coalesce(CASE WHEN TRY_CAST(sms_n AS INTEGER) >= 1 THEN TRY_CAST(sms_n AS INTEGER) END,
                            CASE WHEN TRY_CAST(msg_n AS INTEGER) >= 1 THEN TRY_CAST(msg_n AS INTEGER) END) AS parts,
                   coalesce(
                       starts_with(r.messageId, '"') AND pmid <> ''
                       AND gid BETWEEN 1 AND 5
                       AND (r.status.id IS NULL OR sid IS NOT NULL)
                       AND (r.status.name IS NULL OR starts_with(r.status.name, '"'))
                       AND (r.status.groupName IS NULL OR starts_with(r.status.groupName, '"'))
                       AND (r.doneAt IS NULL OR starts_with(r.doneAt, '"'))
                       AND (coalesce(done, '') <> '' OR starts_with(r.sentAt, '"'))
                       AND (e IS NULL OR ((e.id IS NOT NULL OR e.permanent IS NOT NULL)
                                           AND (e.id IS NULL OR eid IS NOT NULL)
                                           AND (e.permanent IS NULL OR e.permanent IN ('true', 'false'))))
                       -- the usual Infobip form only: 2019-11-09T16:00:00.000+0000 or +00:00
                       AND length(stamp) IN (28, 29) AND substr(stamp, 24, 1) IN ('+', '-')
                       AND substr(stamp, 25, 2) <= '23' AND right(stamp, 2) <= '59'
                       AND money_plain AND counts_plain{inbound}, false) AS ok,
                   {infobip_status_sql("gid", "sid")} AS status,
                   coalesce(nullif(name, ''), nullif(group_name, ''), CAST(gid AS VARCHAR)) AS raw_status,
                   CASE WHEN eid IS NULL OR eid = 0 THEN NULL ELSE CAST(eid AS VARCHAR) END AS error_code,
                   coalesce(e.permanent = 'true', false) AS permanent, stamp
            FROM checked
        ), timed AS (
            SELECT *, timezone('UTC', CASE WHEN ok THEN try_strptime(stamp, '%Y-%m-%dT%H:%M:%S.%g%z') END) AS event_at
            FROM normalised
        )
        SELECT sha1('infobip|' || pmid || '|' || raw_status || '|' || coalesce(error_code, 'None') || '|' || {iso})
                   AS event_id,
               pmid AS provider_message_id, status, raw_status, error_code, permanent, event_at, received_at,
               item AS raw, operator, price, currency, parts, NULL::VARCHAR AS flag, line_no AS seq,
               coalesce(ok AND event_at IS NOT NULL, false) AS simple,
               item IS NULL AS whole_line, several,
               line_no * 1000000 + idx AS item_no
        FROM timed"""


@dataclass
class Staged:
    """What `stage` left: `total` reports in the view `_staged`, their ids in `_staged_ids`,
    and the `rest` lines for the Python parser."""

    total: int
    rest: list[tuple[int, str]]


def check(con: duckdb.DuckDBPyConnection, table: pa.Table, *, mode: str, received_at: datetime | None) -> None:
    """Parse and check every line of `table` in SQL into the temp table `_checked` (one row per
    report, with `simple` false where the Python parser must read the line).

    Call it outside a transaction: it first parses optimistically (no separate `json_valid`
    pass, which costs a third of the parse), and a malformed line that looks like an object
    makes that statement fail — in a transaction DuckDB would then refuse everything up to the
    rollback. It then runs again with `json_valid` on every line. Both give the same rows."""
    con.register("_lines", table)
    try:
        _check(con, mode, received_at, optimistic=True)
    except duckdb.Error:
        _check(con, mode, received_at, optimistic=False)


def _check(con: duckdb.DuckDBPyConnection, mode: str, received_at: datetime | None, *, optimistic: bool) -> None:
    query = _pipeline(mode, received_at, optimistic=optimistic)
    # one pass over the JSON; a report that is a whole line is not copied: `_staged` takes it from the line
    con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {query}")
    if store.scalar(con, "SELECT count(*) FROM _checked WHERE several"):  # bodies with several reports
        con.execute("""CREATE OR REPLACE TEMP TABLE _several AS SELECT * FROM _lines
                       WHERE line_no IN (SELECT seq FROM _checked WHERE several)""")
        con.execute("DELETE FROM _checked WHERE several")
        con.execute(
            f"INSERT INTO _checked "
            f"{_pipeline(mode, received_at, several=True, lines='_several', optimistic=optimistic)}"
        )
        con.execute("DROP TABLE _several")


def stage(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    *,
    mode: str,
    source: str,
    received_at: datetime | None,
    checked: bool = False,
) -> Staged:
    """Check every line of `table` in SQL (`check`, unless `checked` says it was just done for
    this table); define the temp view `_staged` (columns `STAGED_COLUMNS`) over the new reports
    the SQL path takes (not in dlr_events yet, once each), count in `total` every report it
    took, and return the lines for Python. Read `_staged` before `drop`. Empty lines are skipped."""
    if not checked:  # maybe inside a transaction: no optimistic parse (see `check`)
        con.register("_lines", table)
        _check(con, mode, received_at, optimistic=False)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _bad_lines AS SELECT DISTINCT seq AS line_no FROM _checked WHERE NOT simple"
    )
    con.execute("""CREATE OR REPLACE TEMP TABLE _staged_ids AS
                   SELECT DISTINCT provider_message_id FROM _checked ANTI JOIN _bad_lines ON seq = line_no""")
    total = int(store.scalar(con, "SELECT count(*) FROM _checked ANTI JOIN _bad_lines ON seq = line_no"))
    # the reports to add: event_id not stored yet, first in the batch
    con.execute("""CREATE OR REPLACE TEMP TABLE _new_items AS
                   SELECT min(item_no) AS item_no FROM _checked ANTI JOIN _bad_lines ON seq = line_no
                   WHERE event_id NOT IN (SELECT event_id FROM dlr_events) GROUP BY event_id""")
    rest = [
        (n, line)
        for n, line in con.execute(
            "SELECT line_no, line FROM _lines SEMI JOIN _bad_lines USING (line_no) ORDER BY line_no"
        ).fetchall()
    ]
    # constant per batch, or equal to another column: added here rather than stored in _checked
    columns = ", ".join(
        {
            "provider": "'infobip' AS provider",
            "source": f"{sql.literal(source)} AS source",
            "message_ref": "provider_message_id AS message_ref",
        }.get(c, c)
        for c in STAGED_COLUMNS
        if c != "raw"
    )
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _staged AS
                    SELECT {columns}, l.line AS raw
                    FROM (SELECT * FROM _checked SEMI JOIN _new_items USING (item_no) WHERE whole_line) c
                    JOIN _lines l ON l.line_no = c.seq
                    UNION ALL
                    SELECT {columns}, raw FROM _checked SEMI JOIN _new_items USING (item_no) WHERE NOT whole_line""")
    return Staged(total, rest)


def drop(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the staged rows (and unregister the lines)."""
    con.execute(
        "DROP VIEW IF EXISTS _staged; DROP TABLE IF EXISTS _checked; DROP TABLE IF EXISTS _bad_lines; "
        "DROP TABLE IF EXISTS _staged_ids; DROP TABLE IF EXISTS _new_items"
    )
    try:
        con.unregister("_lines")
    except Exception:  # noqa: BLE001 - already gone
        pass
