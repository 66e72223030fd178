"""The schema: forward migrations, each applied once, in order, inside one transaction.

Never edit a released migration: add a new one. `migrate` is what `store.connect` runs on
every database it opens for writing.

Example:
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> migrate(con) == len(MIGRATIONS) == current_version(con)
    True
"""

from __future__ import annotations

from typing import Any

import duckdb

from smslab.clock import utcnow
from smslab.store.queries import scalar

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


def _rewrite(
    con: duckdb.DuckDBPyConnection, table: str, column: str, mapping: list[tuple], by: tuple[str, ...]
) -> None:
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
    _rewrite(
        con,
        "consent",
        "scope",
        [
            (s, m, identity.key(s, _region_of(m), "long_code") if not s.startswith("00") else identity.key(s))
            for s, m in national
        ],
        ("msisdn",),
    )
    for table in ("inbound", "inbound_parts"):
        recipients = con.execute(f"SELECT DISTINCT recipient FROM {table} WHERE recipient IS NOT NULL").fetchall()
        _rewrite(con, table, "recipient", [(r, identity.key(r)) for (r,) in recipients], ())
    senders = con.execute(
        "SELECT DISTINCT sender_id, region, sender_type FROM messages WHERE sender_id IS NOT NULL"
    ).fetchall()
    _rewrite(
        con,
        "messages",
        "sender_id",
        [(s, r, t, identity.address(s, r, t)) for s, r, t in senders],
        ("region", "sender_type"),
    )


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied (0 for an empty database)."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
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
