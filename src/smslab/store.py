"""The DuckDB store: one file, a `schema_version` table and forward migrations.

Every table of the data model lives here (see docs/data-model.md). Timestamps are UTC
(`TIMESTAMP` without zone). Tables that receive the same input more than once carry a
deterministic key (`event_id`, `consent_id`, `quarantine_id`) so that loads are idempotent.

Example:
    >>> from smslab import store
    >>> con = store.connect(":memory:")
    >>> store.current_version(con) == len(store.MIGRATIONS)
    True
"""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from smslab import config, sql
from smslab.clock import utcnow  # noqa: F401  (store.utcnow: callers that already hold the store)
from smslab.errors import DatabaseLockedError, InputError

# Each migration is applied once, in order, inside one transaction. Never edit a released
# migration: add a new one.
MIGRATIONS: list[list[Any]] = [  # SQL text, or a function of the connection
    # 1 — the core data model of DESIGN.md
    [
        """CREATE TABLE IF NOT EXISTS campaigns(
            campaign_id VARCHAR PRIMARY KEY, name VARCHAR, purpose VARCHAR, two_way BOOLEAN,
            spec JSON, created_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS audience(
            campaign_id VARCHAR, msisdn VARCHAR, region VARCHAR, valid BOOLEAN, number_type VARCHAR,
            time_zone VARCHAR, consent_at TIMESTAMP, consent_source VARCHAR, attributes JSON,
            PRIMARY KEY (campaign_id, msisdn))""",
        """CREATE TABLE IF NOT EXISTS messages(
            message_id VARCHAR PRIMARY KEY, campaign_id VARCHAR, variant VARCHAR, msisdn VARCHAR,
            region VARCHAR, sender_type VARCHAR, sender_id VARCHAR, provider VARCHAR,
            provider_message_id VARCHAR, text VARCHAR, encoding VARCHAR, segments INTEGER,
            scheduled_at TIMESTAMP, submitted_at TIMESTAMP, status VARCHAR, status_at TIMESTAMP,
            error_code VARCHAR, price DOUBLE, currency VARCHAR,
            submit_attempted_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS dlr_events(
            event_id VARCHAR PRIMARY KEY, provider VARCHAR, provider_message_id VARCHAR,
            status VARCHAR, raw_status VARCHAR, error_code VARCHAR, permanent BOOLEAN,
            event_at TIMESTAMP, received_at TIMESTAMP, source VARCHAR, raw JSON)""",
        """CREATE TABLE IF NOT EXISTS inbound(
            provider VARCHAR, provider_message_id VARCHAR, msisdn VARCHAR, recipient VARCHAR,
            text VARCHAR, keyword VARCHAR, intent VARCHAR, campaign_id VARCHAR,
            received_at TIMESTAMP, raw JSON, PRIMARY KEY (provider, provider_message_id))""",
        """CREATE TABLE IF NOT EXISTS consent(
            consent_id VARCHAR PRIMARY KEY, msisdn VARCHAR, scope VARCHAR, action VARCHAR,
            source VARCHAR, evidence VARCHAR, recorded_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS quarantine(
            quarantine_id VARCHAR PRIMARY KEY, source VARCHAR, location VARCHAR, raw VARCHAR,
            reason VARCHAR, quarantined_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS findings(
            campaign_id VARCHAR, rule VARCHAR, severity VARCHAR, region VARCHAR,
            recipients BIGINT, message VARCHAR, source_url VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS conversions(
            msisdn VARCHAR, converted_at TIMESTAMP, value DOUBLE, currency VARCHAR,
            reference VARCHAR)""",
        # the per-recipient decision of the latest check, which the sender uses; replaced whole per
        # campaign on every check (no key: maintaining an index over a million rows per check
        # costs more than the check itself)
        """CREATE TABLE IF NOT EXISTS recipient_checks(
            campaign_id VARCHAR, msisdn VARCHAR, decision VARCHAR, reason VARCHAR,
            next_allowed_at TIMESTAMP, checked_at TIMESTAMP)""",
        # how far `smslab load` has read each journal file (bytes and lines), moved in the same
        # transaction as the rows it loaded, so a crash never loads a line twice or skips one
        """CREATE TABLE IF NOT EXISTS journal_offsets(
            path VARCHAR PRIMARY KEY, byte_offset BIGINT, lines BIGINT, loaded_at TIMESTAMP)""",
        "CREATE INDEX IF NOT EXISTS dlr_provider_id ON dlr_events(provider, provider_message_id)",
    ],
    # 2 — receiving: multipart messages and replies flagged for review
    [
        # dlr_events rebuilt: + message_ref, the id of the whole message a report is about when the
        # report is about one part of it (Vonage per-part receipts carry the message's client-ref),
        # else the provider_message_id; - the PRIMARY KEY and index, whose upkeep doubled the cost of
        # a bulk load: the loader keeps event_id unique itself (anti-join, one writer at a time);
        # raw becomes VARCHAR (always JSON text written by the parsers; the JSON type re-parsed it);
        # raw and event_id stored with zstd: DuckDB's default string analysis (FSST/dictionary) made
        # writing these two columns half the cost of a load, zstd writes them 2x faster
        """CREATE TABLE dlr_events_v2(
            event_id VARCHAR NOT NULL USING COMPRESSION zstd, provider VARCHAR, provider_message_id VARCHAR,
            status VARCHAR, raw_status VARCHAR, error_code VARCHAR, permanent BOOLEAN,
            event_at TIMESTAMP, received_at TIMESTAMP, source VARCHAR, raw VARCHAR USING COMPRESSION zstd,
            message_ref VARCHAR)""",
        """INSERT INTO dlr_events_v2 SELECT event_id, provider, provider_message_id, status, raw_status,
            error_code, permanent, event_at, received_at, source, raw, provider_message_id FROM dlr_events""",
        "DROP INDEX IF EXISTS dlr_provider_id",
        "DROP TABLE dlr_events",
        "ALTER TABLE dlr_events_v2 RENAME TO dlr_events",
        # why a reply needs a human look, e.g. 'possible_opt_out' (FCC "reasonable means" free text)
        "ALTER TABLE inbound ADD COLUMN IF NOT EXISTS review VARCHAR",
        # parts of long inbound messages (Vonage concat) waiting for the rest before they are joined
        """CREATE TABLE IF NOT EXISTS inbound_parts(
            provider VARCHAR, provider_message_id VARCHAR, msisdn VARCHAR, recipient VARCHAR,
            concat_ref VARCHAR, concat_part INTEGER, concat_total INTEGER, text VARCHAR,
            received_at TIMESTAMP, raw JSON, PRIMARY KEY (provider, provider_message_id))""",
    ],
    # 3 — sending at scale: audience and messages rebuilt without their PRIMARY KEY indexes. Keeping
    # the index up to date was 4 of the ~30 s of a 1M-message send (insert and commit); the code
    # keeps the keys unique itself (the outbox inserts only message_ids not there yet, the
    # audience only numbers not there yet; one writer at a time, as DuckDB allows one process)
    [
        """CREATE TABLE audience_v3(
            campaign_id VARCHAR NOT NULL, msisdn VARCHAR NOT NULL, region VARCHAR, valid BOOLEAN,
            number_type VARCHAR, time_zone VARCHAR, consent_at TIMESTAMP, consent_source VARCHAR, attributes JSON)""",
        "INSERT INTO audience_v3 SELECT campaign_id, msisdn, region, valid, number_type, time_zone, consent_at, "
        "consent_source, attributes FROM audience",
        "DROP TABLE audience",
        "ALTER TABLE audience_v3 RENAME TO audience",
        """CREATE TABLE messages_v3(
            message_id VARCHAR NOT NULL, campaign_id VARCHAR, variant VARCHAR, msisdn VARCHAR,
            region VARCHAR, sender_type VARCHAR, sender_id VARCHAR, provider VARCHAR,
            provider_message_id VARCHAR, text VARCHAR, encoding VARCHAR, segments INTEGER,
            scheduled_at TIMESTAMP, submitted_at TIMESTAMP, status VARCHAR, status_at TIMESTAMP,
            error_code VARCHAR, price DOUBLE, currency VARCHAR, submit_attempted_at TIMESTAMP)""",
        "INSERT INTO messages_v3 SELECT message_id, campaign_id, variant, msisdn, region, sender_type, sender_id, "
        "provider, provider_message_id, text, encoding, segments, scheduled_at, submitted_at, status, status_at, "
        "error_code, price, currency, submit_attempted_at FROM messages",
        "DROP TABLE messages",
        "ALTER TABLE messages_v3 RENAME TO messages",
    ],
    # 4 — one identity per number: consent scopes, our sender ids and reply recipients rewritten
    # into the forms of smslab.identity ("447700900123" and "+447700900123" are one number)
    [lambda con: canonical_identities(con)],
    # 5 — operators: the MCC/MNC a report names (Infobip `mccMnc`, Vonage `network-code`, an SMPP
    # network code when the SMSC sends one), written by the parsers rather than dug out of `raw`
    # at query time (raw holds the whole webhook body since the loader keeps it as received);
    # reports loaded before this migration get theirs from raw, read as the parsers read it
    [
        "ALTER TABLE dlr_events ADD COLUMN IF NOT EXISTS operator VARCHAR",
        """UPDATE dlr_events SET operator = o.code FROM (
               SELECT event_id, CASE provider
                   WHEN 'infobip' THEN coalesce(json_extract_string(raw, '$.mccMnc'),
                                                json_extract_string(raw, '$.results[0].mccMnc'))
                   WHEN 'vonage' THEN json_extract_string(raw, '$."network-code"')
                   WHEN 'smpp' THEN coalesce(json_extract_string(raw, '$.network_code'),
                                             json_extract_string(raw, '$.mcc_mnc')) END AS code
               FROM dlr_events WHERE json_valid(raw)) AS o
           WHERE dlr_events.event_id = o.event_id AND regexp_full_match(o.code, '[0-9]{5,6}')""",
    ],
    # 6 — prices from reports: each report's price as the provider states it (Infobip
    # `price.pricePerMessage` per part charged, `currency`, and the parts charged `smsCount` /
    # `messageCount`); where a message's price came from (`report`, `provider`: the submit
    # answer, NULL: not known), so that cost analytics can say which prices they counted
    [
        "ALTER TABLE dlr_events ADD COLUMN IF NOT EXISTS price DOUBLE",
        "ALTER TABLE dlr_events ADD COLUMN IF NOT EXISTS currency VARCHAR",
        "ALTER TABLE dlr_events ADD COLUMN IF NOT EXISTS parts INTEGER",
        "ALTER TABLE messages ADD COLUMN IF NOT EXISTS price_source VARCHAR",
        "UPDATE messages SET price_source = 'provider' WHERE price IS NOT NULL",
    ],
    # 7 — receipts kept whole: `flag` says why a field of a report is not what the provider sent
    # (an SMPP done date that cannot be read: event_at is the receive time). An SMPP receipt whose
    # id is the decimal form of its message's hex id (or the reverse) gets the message's id
    # (the id as received stays in raw)
    ["ALTER TABLE dlr_events ADD COLUMN IF NOT EXISTS flag VARCHAR"],
    # 8 — what providers tell about a reply, as columns: Infobip's own keyword match (`keyword`,
    # distinct from smslab's classification in `inbound.keyword`) and the text without it
    # (`cleanText`); media URLs (Twilio MediaUrl0…N) as a JSON list
    [
        "ALTER TABLE inbound ADD COLUMN IF NOT EXISTS provider_keyword VARCHAR",
        "ALTER TABLE inbound ADD COLUMN IF NOT EXISTS clean_text VARCHAR",
        "ALTER TABLE inbound ADD COLUMN IF NOT EXISTS media_urls JSON",
    ],
    # 9 — quarantine keeps each record exactly as received: raw_bytes holds its bytes (any length,
    # UTF-8 or not; `raw` is their text for reading, U+FFFD where a byte is not UTF-8), and
    # resolved_at is set when a later load of the same place (file and line) succeeds
    [
        "ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS raw_bytes BLOB",
        "ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS resolved_at TIMESTAMP",
        "UPDATE quarantine SET raw_bytes = encode(raw) WHERE raw_bytes IS NULL AND raw IS NOT NULL",
    ],
]


def _rewrite(con: duckdb.DuckDBPyConnection, table: str, column: str, mapping: list[tuple],
             by: tuple[str, ...]) -> None:
    """UPDATE table SET column = new FROM mapping(old, *by, new) where it changed."""
    changed = [row for row in mapping if row[0] != row[-1]]
    if not changed:
        return
    import pandas as pd

    names = ["old", *by, "new"]
    con.register("_identity_map", pd.DataFrame(changed, columns=names))
    try:
        match = " AND ".join([f"t.{column} = m.old"] + [f"t.{b} IS NOT DISTINCT FROM m.{b}" for b in by])
        con.execute(f"UPDATE {table} AS t SET {column} = m.new FROM _identity_map m WHERE {match}")
    finally:
        con.unregister("_identity_map")


def _region_of(msisdn: str | None) -> str | None:
    import phonenumbers

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(msisdn or "", None))
    except phonenumbers.NumberParseException:
        return None


def canonical_identities(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite stored numbers and sender ids into their one canonical form (idempotent).

    Consent scopes and reply recipients become `identity.key` (a national "07700 900123" is read
    in the country of the number that wrote it); `messages.sender_id` becomes `identity.address`
    for its region and sender type (alphanumeric ids stay as written).
    """
    from smslab import identity

    scopes = con.execute("SELECT DISTINCT scope FROM consent WHERE scope IS NOT NULL").fetchall()
    _rewrite(con, "consent", "scope", [(s, identity.key(s)) for (s,) in scopes if not s.startswith("0")], ())
    national = con.execute("SELECT DISTINCT scope, msisdn FROM consent WHERE scope LIKE '0%'").fetchall()
    _rewrite(con, "consent", "scope", [(s, m, identity.key(s, _region_of(m), "long_code") if not s.startswith("00")
                                        else identity.key(s)) for s, m in national], ("msisdn",))
    for table in ("inbound", "inbound_parts"):
        recipients = con.execute(f"SELECT DISTINCT recipient FROM {table} WHERE recipient IS NOT NULL").fetchall()
        _rewrite(con, table, "recipient", [(r, identity.key(r)) for (r,) in recipients], ())
    senders = con.execute("SELECT DISTINCT sender_id, region, sender_type FROM messages "
                          "WHERE sender_id IS NOT NULL").fetchall()
    _rewrite(con, "messages", "sender_id",
             [(s, r, t, identity.address(s, r, t)) for s, r, t in senders], ("region", "sender_type"))


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The single value a query returns, with the result fully consumed.

    DuckDB 2 refuses `register()` while an earlier result is only partly fetched, so never
    leave a `fetchone()` dangling on a shared connection.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


DEFAULT_WAIT = 60.0  # seconds a connection waits for a lock held by another process
_LOCK_PID = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


def wait_seconds(explicit: float | None = None) -> float:
    """How long to wait for a lock: the argument, else `SMSLAB_WAIT` (set by `--wait`), else 60."""
    if explicit is not None:
        return float(explicit)
    raw = os.environ.get("SMSLAB_WAIT")
    try:
        return float(raw) if raw else DEFAULT_WAIT
    except ValueError:
        return DEFAULT_WAIT


def lock_holder(message: str) -> str | None:
    """'process 4242 (python3.11 …/ipykernel_launcher …)' from DuckDB's lock error, else None.

    Example:
        >>> lock_holder('IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in '
        ...             '/usr/bin/python3 (PID 4242). See also https://duckdb.org/docs')
        'process 4242 (/usr/bin/python3)'
    """
    found = _LOCK_PID.search(message)
    if not found:
        return None
    pid, program = found["pid"], found["program"]
    try:  # the whole command line says more than the interpreter's path (a Jupyter kernel, smslab load…)
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        cmdline = " ".join(raw.decode("utf-8", "replace").split())
        if cmdline:
            program = cmdline if len(cmdline) <= 120 else cmdline[:117] + "…"
    except OSError:
        pass
    return f"process {pid} ({program})"


def _writable(path: Path) -> bool:
    """Whether a file can be written: its mode has a write bit (root ignores modes, we don't)."""
    import stat

    return bool(path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) and os.access(path, os.W_OK)


def _check_path(path: Path, read_only: bool, explicit: bool) -> None:
    """Refuse a database path that cannot work, in one line naming it and the fix."""
    where = "--db/SMSLAB_DB" if explicit else "the default database"
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a DuckDB file ({where}); "
                         f"give a file path such as {path / 'smslab.duckdb'}")
    if path.exists():
        with path.open("rb") as fh:
            head = fh.read(16)
        if head[8:12] != b"DUCK":
            raise InputError(f"{path}: is not a DuckDB database file ({where}); point --db at a .duckdb file "
                             "or at a new path, which is created")
        if not read_only and not _writable(path):
            raise InputError(f"{path}: the database file is read-only; make it writable (chmod u+w {path}) "
                             "or use --db with a writable copy")
        return
    if read_only:
        raise InputError(f"{path}: no such database ({where}); run `smslab demo` or `smslab send` first, "
                         "or point --db at an existing file")
    parent = path.parent
    if not parent.is_dir():
        if explicit:
            raise InputError(f"{path}: the folder {parent} does not exist; create it (mkdir -p {parent}) "
                             "or fix the --db path")
        parent.mkdir(parents=True, exist_ok=True)  # the default data/ folder
    elif not os.access(parent, os.W_OK):
        raise InputError(f"{path}: cannot create the database, the folder {parent} is read-only")


def _open(path: str, read_only: bool, wait: float | None) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, waiting up to `wait` seconds (see `wait_seconds`) for another process's lock."""
    import sys
    import time

    limit = wait_seconds(wait)
    deadline = time.monotonic() + limit
    announced = False
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            holder = lock_holder(str(exc))
            if holder is None:
                first = str(exc).splitlines()[0].removeprefix("IO Error: ")
                raise InputError(f"{path}: cannot open the database: {first}") from None
            if time.monotonic() >= deadline:
                raise DatabaseLockedError(
                    f"{path} is locked by {holder}; waited {limit:g} s. Stop that process or close its "
                    "connection (in Jupyter: con.close() or restart the kernel), or wait longer with --wait SECONDS"
                ) from None
            if not announced:
                print(f"smslab: {path} is locked by {holder}; waiting up to {limit:g} s (--wait)",
                      file=sys.stderr, flush=True)
                announced = True
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def connect(db: str | os.PathLike[str] | None = None, *, read_only: bool = False,
            wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the database (`--db`, `SMSLAB_DB` or data/smslab.duckdb) and bring its schema up to date.

    Another process's lock is waited for up to `wait` seconds (default `SMSLAB_WAIT` or 60), then
    `DatabaseLockedError` names the process. A path that cannot be a database raises `InputError`.
    """
    path = str(db) if str(db) == ":memory:" else str(config.db_path(db))
    if path != ":memory:":
        _check_path(Path(path), read_only, explicit=bool(db) or bool(os.environ.get("SMSLAB_DB")))
    con = _open(path, read_only, wait)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        migrate(con)
    return con


@contextlib.contextmanager
def using(con: duckdb.DuckDBPyConnection | None = None, db: str | os.PathLike[str] | None = None, *,
          read_only: bool = False, wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The caller's connection as it is, or one opened on `db` (as `connect` does) and closed after.

    Example:
        >>> with using(db=":memory:") as con:
        ...     con.execute("SELECT 1").fetchone()
        (1,)
        >>> mine = connect(":memory:")
        >>> with using(mine, db="ignored.duckdb") as con:
        ...     con is mine
        True
    """
    if con is not None:
        yield con
        return
    own = connect(db, read_only=read_only, wait=wait)
    try:
        yield own
    finally:
        own.close()


def wait_until_free(db: str | os.PathLike[str] | None = None, *, wait: float | None = None) -> None:
    """Wait (up to `wait`, see `wait_seconds`) until the database can be read; nothing if it does not exist.

    `smslab report run` calls this first, so that the wait is announced on its own stderr rather
    than inside the notebook's kernel.
    """
    path = Path(config.db_path(db))
    if path.is_file():
        _open(str(path), True, wait).close()


def snapshot(db: str | os.PathLike[str] | None = None, *, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory copy of the database, with no lock on its file: what notebooks read.

    DuckDB lets one process write a file or several read it, never both; a kernel that kept a
    read-only connection open would block every `smslab load`. The copy is taken in one short
    read (waiting like `connect` for a writer to finish) and the file is released at once.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "s.duckdb")
        >>> connect(path).close()
        >>> snap = snapshot(path)
        >>> writer = connect(path)   # the snapshot holds no lock
        >>> current_version(snap) == len(MIGRATIONS)
        True
    """
    path = Path(config.db_path(db))
    _check_path(path, True, explicit=bool(db) or bool(os.environ.get("SMSLAB_DB")))
    _open(str(path), True, wait).close()  # wait for a writer (and name it) before attaching
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    try:
        con.execute(f"ATTACH {sql.literal(path)} AS _smslab_source (READ_ONLY)")
    except duckdb.IOException:
        con.close()
        _open(str(path), True, wait).close()
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {sql.literal(path)} AS _smslab_source (READ_ONLY)")
    try:
        con.execute("COPY FROM DATABASE _smslab_source TO memory")
    finally:
        con.execute("DETACH _smslab_source")
    return con


def campaign_started(con: duckdb.DuckDBPyConnection, campaign_id: str) -> bool:
    """Whether `campaign_id` already has messages in the database (a later run of a campaign)."""
    try:
        return bool(scalar(con, "SELECT count(*) FROM messages WHERE campaign_id = ?", [campaign_id]))
    except duckdb.CatalogException:
        return False


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied (0 for an empty database)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, applied_at TIMESTAMP)"
    )
    return int(scalar(con, "SELECT coalesce(max(version), 0) FROM schema_version"))


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration not applied yet; harmless to run again. Returns the version reached."""
    version = current_version(con)
    for number, statements in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for step in statements:
                if callable(step):
                    step(con)
                else:
                    con.execute(step)
            con.execute("INSERT INTO schema_version VALUES (?, ?)", [number, utcnow()])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        version = number
    return version


TABLES = [
    "campaigns", "audience", "messages", "dlr_events", "inbound", "consent",
    "quarantine", "findings", "conversions", "recipient_checks", "journal_offsets", "inbound_parts",
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


def resolve_quarantine(con: duckdb.DuckDBPyConnection, source: str, loaded: set[str],
                       lines: tuple[int, int] | None = None,
                       still_bad: frozenset[str] | set[str] = frozenset()) -> int:
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
        con.execute(f"""UPDATE quarantine SET resolved_at = ?
                        WHERE resolved_at IS NULL AND source = ?
                          AND regexp_extract(location, '{_PLACE}', 1) NOT IN (SELECT place FROM _q_bad)
                          AND (regexp_extract(location, '{_PLACE}', 1) IN (SELECT place FROM _q_loaded)
                               OR TRY_CAST(regexp_extract(location, '^line ([0-9]+)', 1) AS BIGINT)
                                  BETWEEN ? AND ?)""", [utcnow(), source, low, high])
        return scalar(con, "SELECT count(*) FROM quarantine WHERE resolved_at IS NOT NULL") - before
    finally:
        con.unregister("_q_loaded")
        con.unregister("_q_bad")
