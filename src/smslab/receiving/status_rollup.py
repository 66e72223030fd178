"""Status roll-up: each message's current status (and report price) from its delivery events.

`refresh_statuses` recomputes `messages.status`, `status_at`, `error_code` (and the price a
report carries) from `dlr_events`, so that a final status never regresses, per-part reports
(Vonage `client-ref`) count towards the whole message, and SMPP receipts whose id is the
message's id in the other base (hex / decimal) find their message.

Example:
    >>> from smslab import store
    >>> con = store.connect(":memory:")
    >>> refresh_statuses(con)   # no messages, no events: nothing to do
"""

from __future__ import annotations

import duckdb

from smslab import store
from smslab.receiving.statuses import FINAL


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
        where = (
            f"AND (provider_message_id IN (SELECT provider_message_id FROM {ids_table})"
            f" OR message_id IN (SELECT provider_message_id FROM {ids_table}))"
        )
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
    scope = (
        (
            f"AND (o.pmid IN (SELECT provider_message_id FROM {ids_table}) "
            f"OR m.own IN (SELECT provider_message_id FROM {ids_table}))"
        )
        if ids_table
        else ""
    )
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
    return (
        f"{{'f': {status} IN ({_FINAL}), 'e': {at}, "
        f"'r': CASE {status} WHEN 'sent' THEN 3 WHEN 'submitted' THEN 2 ELSE 1 END}}"
    )


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
                       arg_max(part, {_precedence("part.s", "part.e")}) AS best
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
