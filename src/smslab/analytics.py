"""Analytics over the store: the funnel, delivery by country, latency, replies.

Every function takes a DuckDB connection and a campaign id and returns a pandas
DataFrame, ready for a notebook to chart. Phone numbers never leave unmasked unless asked.

Example:
    >>> from smslab import analytics, store
    >>> con = store.connect(":memory:")
    >>> analytics.funnel(con, "none")["count"].sum()
    0
"""
from __future__ import annotations

import re

import duckdb
import pandas as pd

from smslab.receiving.statuses import FINAL

FUNNEL_STAGES = ["targeted", "allowed", "submitted", "sent", "delivered", "replied", "opted_out"]
_FINAL_SQL = ", ".join(f"'{s}'" for s in sorted(FINAL))


def mask_msisdn(msisdn: str | None) -> str | None:
    """Hide the middle of a phone number: +33612345678 → '+33 6•• •• •• 78'.

    Keeps the country calling code (up to 3 digits), the first digit after it and the last two.
    """
    if not msisdn or not isinstance(msisdn, str):
        return msisdn
    digits = re.sub(r"\D", "", msisdn)
    if len(digits) < 6:
        return "•" * len(digits)
    import phonenumbers

    try:
        cc = str(phonenumbers.parse("+" + digits).country_code)
    except phonenumbers.NumberParseException:
        cc = digits[:2]
    rest = digits[len(cc):]
    hidden = rest[0] + "•" * (len(rest) - 3) + rest[-2:]
    groups = [hidden[0:3]] + [hidden[i:i + 2] for i in range(3, len(hidden), 2)]
    return f"+{cc} " + " ".join(groups)


def campaigns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every campaign with its message count, newest first."""
    return con.execute("""
        SELECT c.campaign_id, c.name, c.purpose, c.two_way, c.created_at, count(m.message_id) AS messages
        FROM campaigns c LEFT JOIN messages m USING (campaign_id)
        GROUP BY ALL ORDER BY c.created_at DESC""").df()


def funnel(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Recipients at each stage: targeted → allowed → submitted → sent → delivered → replied → opted out."""
    row = con.execute("""
        SELECT
          (SELECT count(*) FROM audience WHERE campaign_id = $c),
          (SELECT count(DISTINCT msisdn) FROM messages WHERE campaign_id = $c),
          (SELECT count(DISTINCT msisdn) FROM messages WHERE campaign_id = $c AND provider_message_id IS NOT NULL),
          (SELECT count(DISTINCT msisdn) FROM messages WHERE campaign_id = $c AND status IN ('sent', 'delivered')),
          (SELECT count(DISTINCT msisdn) FROM messages WHERE campaign_id = $c AND status = 'delivered'),
          (SELECT count(DISTINCT msisdn) FROM inbound WHERE campaign_id = $c),
          (SELECT count(DISTINCT msisdn) FROM inbound WHERE campaign_id = $c AND intent = 'opt_out')
    """, {"c": campaign_id}).fetchall()[0]
    return pd.DataFrame({"stage": FUNNEL_STAGES, "count": [int(v or 0) for v in row]})


def status_counts(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Messages by current normalised status."""
    return con.execute("""SELECT status, count(*) AS messages FROM messages WHERE campaign_id = ?
                          GROUP BY status ORDER BY messages DESC""", [campaign_id]).df()


def delivery_by(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region") -> pd.DataFrame:
    """Submitted, delivered and delivery rate by region, sender_type, variant or provider."""
    if dimension not in {"region", "sender_type", "variant", "provider", "encoding"}:
        raise ValueError(f"cannot group by {dimension!r}")
    return con.execute(f"""
        SELECT {dimension}, count(*) FILTER (WHERE provider_message_id IS NOT NULL) AS submitted,
               count(*) FILTER (WHERE status = 'delivered') AS delivered,
               count(*) FILTER (WHERE status IN ('undelivered', 'expired', 'rejected', 'failed')) AS failed,
               round(delivered / nullif(submitted, 0), 4) AS delivery_rate,
               sum(price) AS cost
        FROM messages WHERE campaign_id = ? GROUP BY {dimension} ORDER BY submitted DESC""", [campaign_id]).df()


def latency(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Seconds from the moment a message went out to its delivered report: p50, p90, p99 by region."""
    return con.execute("""
        WITH d AS (
            SELECT m.region, epoch(min(e.event_at) - greatest(m.submitted_at, coalesce(m.scheduled_at, m.submitted_at))) AS s
            FROM messages m JOIN dlr_events e ON e.provider_message_id = m.provider_message_id AND e.status = 'delivered'
            WHERE m.campaign_id = ? GROUP BY m.message_id, m.region, m.submitted_at, m.scheduled_at)
        SELECT region, count(*) AS delivered, quantile_cont(s, 0.5) AS p50_s, quantile_cont(s, 0.9) AS p90_s,
               quantile_cont(s, 0.99) AS p99_s
        FROM d GROUP BY region ORDER BY delivered DESC""", [campaign_id]).df()


def failures(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Final failures by status and error code, with whether the error is permanent."""
    return con.execute(f"""
        SELECT m.status, m.error_code, bool_or(e.permanent) AS permanent, count(DISTINCT m.message_id) AS messages
        FROM messages m LEFT JOIN dlr_events e ON e.provider_message_id = m.provider_message_id AND e.status = m.status
        WHERE m.campaign_id = ? AND m.status IN ('undelivered', 'expired', 'rejected', 'failed')
        GROUP BY ALL ORDER BY messages DESC""", [campaign_id]).df()


def reply_intents(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Replies by intent and keyword."""
    return con.execute("""SELECT intent, coalesce(keyword, '(free text)') AS keyword, count(*) AS replies
                          FROM inbound WHERE campaign_id = ? GROUP BY ALL ORDER BY replies DESC""",
                       [campaign_id]).df()


def freshness(con: duckdb.DuckDBPyConnection) -> dict:
    """How fresh the data is: the latest report, reply and load."""
    row = con.execute("""SELECT (SELECT max(received_at) FROM dlr_events), (SELECT max(received_at) FROM inbound),
                                (SELECT max(loaded_at) FROM journal_offsets)""").fetchall()[0]
    return {"latest_report": row[0], "latest_reply": row[1], "latest_load": row[2]}
