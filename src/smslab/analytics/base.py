"""The per-recipient base every analysis counts over: one row per recipient of a campaign.

Each row carries the funnel flags (targeted, allowed, submitted, sent, delivered, replied,
opted_out, converted), the dimensions (`DIMENSIONS`) and the price. It is built once per
connection and data version as a temporary table (`_base`), so a report's many questions
read it, not the 1M-row tables behind it.

Example:
    >>> from smslab import store
    >>> recipients(store.connect(":memory:"), "none").empty
    True
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from smslab import sql
from smslab.analytics.attribution import _ATTRIBUTED, DEFAULT_ATTRIBUTION_DAYS
from smslab.masking import mask_frame
from smslab.receiving.statuses import FINAL

FUNNEL_STAGES = ["targeted", "allowed", "submitted", "sent", "delivered", "replied", "opted_out", "converted"]
FAILED = tuple(sorted(FINAL - {"delivered"}))  # the final statuses that are not a delivery

NOT_SENT = "(not sent)"


# dimension name → SQL expression over the per-recipient base (see `_BASE`)
DIMENSIONS: dict[str, str] = {
    "region": "region",
    "operator": "operator",
    "sender_type": "sender_type",
    "sender_id": "sender_id",
    "variant": "variant",
    "hour": "hour",
    "provider": "provider",
    "encoding": "encoding",
}


_BASE = f"""
WITH msg AS (
    -- a queued message is not submitted, even with the id a provider (the simulator) assigned in advance
    SELECT message_id, msisdn, region, sender_type, sender_id, variant, provider, encoding,
           CASE WHEN status <> 'queued' THEN provider_message_id END AS provider_message_id, status,
           price, currency, __PRICE_SOURCE__ AS price_source, segments,
           CASE WHEN submitted_at IS NOT NULL
                THEN greatest(submitted_at, coalesce(scheduled_at, submitted_at)) END AS sent_at
    FROM messages WHERE campaign_id = $c),
ev AS (
    SELECT provider_message_id, bool_or(status IN ('sent', 'delivered')) AS reached,
           min(event_at) FILTER (WHERE status = 'delivered') AS delivered_at,
           max(operator) AS mcc_mnc
    FROM __DLR__
    WHERE provider_message_id IN (SELECT provider_message_id FROM msg WHERE provider_message_id IS NOT NULL)
    GROUP BY provider_message_id),
rep AS (SELECT msisdn, count(*) AS replies, bool_or(intent = 'opt_out') AS opted_out
        FROM inbound WHERE campaign_id = $c GROUP BY msisdn),
conv AS (SELECT msisdn, count(*) AS conversions, sum(value) AS revenue, any_value(currency) AS revenue_currency
         FROM ({_ATTRIBUTED}) WHERE campaign_id = $c GROUP BY msisdn),
aud AS (SELECT msisdn, region FROM audience WHERE campaign_id = $c),
-- operator names: the MCC/MNC table's row for the message's country first, else any row of that code
opn AS (SELECT mcc_mnc, country_code, name FROM _smslab_operator_names),
opn_any AS (SELECT mcc_mnc, min(name) AS name FROM opn GROUP BY mcc_mnc),
base AS (
    SELECT coalesce(m.msisdn, a.msisdn) AS msisdn,
           coalesce(m.region, a.region, 'unknown') AS region,
           CASE WHEN m.message_id IS NULL THEN '{NOT_SENT}'
                ELSE coalesce(m.region, '?') || ' ' || coalesce(o1.name, o2.name, ev.mcc_mnc,
                                                            rh.range_holder || ' (number range)', 'unknown')
           END AS operator,
           ev.mcc_mnc,
           coalesce(m.sender_type, '{NOT_SENT}') AS sender_type,
           coalesce(m.sender_id, '{NOT_SENT}') AS sender_id,
           coalesce(m.variant, '{NOT_SENT}') AS variant,
           coalesce(m.provider, '{NOT_SENT}') AS provider,
           coalesce(m.encoding, '{NOT_SENT}') AS encoding,
           coalesce(strftime(m.sent_at, '%H:00'), '{NOT_SENT}') AS hour,
           a.msisdn IS NOT NULL AS targeted,
           m.message_id IS NOT NULL AS allowed,
           m.provider_message_id IS NOT NULL AS submitted,
           m.provider_message_id IS NOT NULL
             AND (coalesce(ev.reached, false) OR m.status IN ('sent', 'delivered')) AS sent,
           coalesce(m.status = 'delivered', false) AS delivered,
           coalesce(m.status IN ({sql.values(FAILED)}), false) AS failed,
           rep.msisdn IS NOT NULL AS replied,
           coalesce(rep.opted_out, false) AS opted_out,
           conv.msisdn IS NOT NULL AS converted,
           coalesce(rep.replies, 0) AS replies,
           coalesce(conv.conversions, 0) AS conversions,
           coalesce(conv.revenue, 0) AS revenue, conv.revenue_currency,
           CASE WHEN m.provider_message_id IS NOT NULL THEN m.price END AS price, m.currency,
           CASE WHEN m.provider_message_id IS NOT NULL AND m.price IS NOT NULL THEN m.price_source END AS price_source,
           m.segments,
           m.status, m.sent_at, ev.delivered_at
    FROM aud a FULL OUTER JOIN msg m ON a.msisdn = m.msisdn
    LEFT JOIN ev ON ev.provider_message_id = m.provider_message_id
    LEFT JOIN opn o1 ON o1.mcc_mnc = ev.mcc_mnc AND o1.country_code = m.region
    LEFT JOIN opn_any o2 ON o2.mcc_mnc = ev.mcc_mnc
    LEFT JOIN _smslab_range_holders rh ON rh.msisdn = m.msisdn AND ev.mcc_mnc IS NULL
    LEFT JOIN rep ON rep.msisdn = coalesce(m.msisdn, a.msisdn)
    LEFT JOIN conv ON conv.msisdn = coalesce(m.msisdn, a.msisdn))
"""


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def _sql(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Reports match messages by the id of the whole message (`message_ref`, migration 2: a
    multipart message's per-part receipts carry it), else by the provider message id. A
    database opened read-only before migration 5 has no `operator` column: NULL stands in."""
    columns = _columns(con, "dlr_events")
    replace = []
    if "message_ref" in columns:
        replace.append("coalesce(message_ref, provider_message_id) AS provider_message_id")
    extra = "" if "operator" in columns else ", NULL::VARCHAR AS operator"
    dlr = "dlr_events"
    if replace or extra:
        star = f"* REPLACE ({', '.join(replace)})" if replace else "*"
        dlr = f"(SELECT {star}{extra} FROM dlr_events)"
    # before migration 6 a known price could only come from the submit answer
    source = (
        "price_source"
        if "price_source" in _columns(con, "messages")
        else "CASE WHEN price IS NOT NULL THEN 'provider' END"
    )
    return sql.replace("__DLR__", dlr).replace("__PRICE_SOURCE__", source)


def _register_operators(con: duckdb.DuckDBPyConnection, campaign_id: str) -> None:
    """Register `_smslab_operator_names` (the MCC/MNC table) and `_smslab_range_holders` (the
    original range holder of each of the campaign's numbers whose reports name no operator)."""
    from smslab import operators

    con.register("_smslab_operator_names", operators.table())
    without = con.execute(
        _sql(
            con,
            """
        SELECT DISTINCT m.msisdn FROM messages m
        WHERE m.campaign_id = $c AND m.msisdn IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM __DLR__ d WHERE d.provider_message_id = m.provider_message_id AND d.operator IS NOT NULL)""",
        ),
        {"c": campaign_id},
    ).fetchall()
    con.register("_smslab_range_holders", operators.range_holders(r[0] for r in without))


def _base(con: duckdb.DuckDBPyConnection, campaign_id: str, attribution_days: float) -> str:
    """The per-recipient base of a campaign as a temporary table (name returned), built once per
    connection and data version: a report asks many questions of the same 1M rows. Temporary
    tables work on read-only connections too and vanish with the connection."""
    import hashlib

    con.execute("SET enable_progress_bar = false")  # in Jupyter it would draw a widget into the report
    version = con.execute("""SELECT (SELECT count(*) FROM messages), (SELECT max(status_at) FROM messages),
        (SELECT count(*) FROM dlr_events), (SELECT max(received_at) FROM dlr_events), (SELECT count(*) FROM inbound),
        (SELECT count(*) FROM conversions), (SELECT count(*) FROM audience)""").fetchall()[0]
    stem = "smslab_base_" + hashlib.sha1(f"{campaign_id}|{float(attribution_days)}".encode()).hexdigest()[:12]
    name = f"{stem}_{hashlib.sha1(repr(version).encode()).hexdigest()[:12]}"
    tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)", [stem]
        ).fetchall()
    }
    if name not in tables:
        for stale in tables:
            con.execute(f"DROP TABLE IF EXISTS temp.{stale}")
        _register_operators(con, campaign_id)
        con.execute(
            _sql(con, f"CREATE TEMP TABLE {name} AS " + _BASE + "SELECT * FROM base"),
            _params(campaign_id, attribution_days),
        )
    return name


_COUNTS = """count(*) FILTER (WHERE targeted) AS targeted, count(*) FILTER (WHERE allowed) AS allowed,
             count(*) FILTER (WHERE submitted) AS submitted, count(*) FILTER (WHERE sent) AS sent,
             count(*) FILTER (WHERE delivered) AS delivered, count(*) FILTER (WHERE replied) AS replied,
             count(*) FILTER (WHERE opted_out) AS opted_out, count(*) FILTER (WHERE converted) AS converted"""


def _params(campaign_id: str, attribution_days: float) -> dict[str, Any]:
    return {"c": campaign_id, "w": float(attribution_days) * 86400.0}


def _dimension(dimension: str) -> str:
    if dimension not in DIMENSIONS:
        raise ValueError(f"cannot group by {dimension!r}; expected one of {', '.join(DIMENSIONS)}")
    return DIMENSIONS[dimension]


def recipients(
    con: duckdb.DuckDBPyConnection, campaign_id: str, *, attribution_days: float = DEFAULT_ATTRIBUTION_DAYS
) -> pd.DataFrame:
    """One row per recipient with every funnel flag and dimension; msisdn masked."""
    frame = con.execute(f"SELECT * FROM {_base(con, campaign_id, attribution_days)} ORDER BY msisdn").df()
    return mask_frame(frame)
