"""Analytics over the store: did the campaign work, for whom, and at what cost?

Every function takes a DuckDB connection and a campaign id and returns a pandas DataFrame (or
a small result object) ready for a notebook to chart. Logic lives here, in SQL run by DuckDB,
so a notebook cell is one call. Phone numbers never leave unmasked: functions that return
individual recipients mask them (`smslab.masking`), everything else is aggregated. Statistics
live in `smslab.stats`; the pre-send planning views in `smslab.planning`.

The funnel counts recipients (one message per recipient per campaign):

    targeted   in the campaign's audience
    allowed    got a message in the outbox (not blocked by the compliance check)
    submitted  accepted by the provider (has a provider message id)
    sent       reached the operator (a `sent` or `delivered` report, or that status)
    delivered  current status `delivered`
    replied    sent at least one reply to the campaign
    opted_out  one of those replies was an opt-out
    converted  a conversion attributed to the campaign (`attributed_conversions`)

Rates: delivery = delivered / submitted; reply, opt-out and conversion = x / delivered.

Example:
    >>> from smslab import analytics, store
    >>> con = store.connect(":memory:")
    >>> int(analytics.funnel(con, "none")["count"].sum())
    0
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from smslab.masking import mask_frame, mask_text
from smslab.receiving.statuses import FINAL
from smslab.stats import Comparison, compare_proportions, wilson_interval

FUNNEL_STAGES = ["targeted", "allowed", "submitted", "sent", "delivered", "replied", "opted_out", "converted"]
FAILED = ("undelivered", "expired", "rejected", "failed")
DEFAULT_ATTRIBUTION_DAYS = 7.0
NOT_SENT = "(not sent)"
_FINAL_SQL = ", ".join(f"'{s}'" for s in sorted(FINAL))

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
# what each A/B metric counts, and over which base
METRICS: dict[str, tuple[str, str]] = {
    "delivered": ("delivered", "submitted"),
    "replied": ("replied", "delivered"),
    "opted_out": ("opted_out", "delivered"),
    "converted": ("converted", "delivered"),
}


# ---- the per-recipient base -------------------------------------------------------------------

def _touch_sql() -> str:
    return """SELECT campaign_id, msisdn, greatest(submitted_at, coalesce(scheduled_at, submitted_at)) AS sent_at
              FROM messages WHERE status = 'delivered' AND submitted_at IS NOT NULL"""


_ATTRIBUTED = f"""
    SELECT c.msisdn, c.converted_at, c.value, c.currency, c.reference, t.campaign_id, t.sent_at
    FROM conversions c ASOF JOIN ({_touch_sql()}) t ON c.msisdn = t.msisdn AND c.converted_at >= t.sent_at
    WHERE c.converted_at < t.sent_at + to_seconds($w)"""

_BASE = f"""
WITH msg AS (
    SELECT message_id, msisdn, region, sender_type, sender_id, variant, provider, encoding, provider_message_id,
           status, price, currency, __PRICE_SOURCE__ AS price_source, segments,
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
           coalesce(m.status IN {FAILED}, false) AS failed,
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
    source = ("price_source" if "price_source" in _columns(con, "messages")
              else "CASE WHEN price IS NOT NULL THEN 'provider' END")
    return sql.replace("__DLR__", dlr).replace("__PRICE_SOURCE__", source)


def _register_operators(con: duckdb.DuckDBPyConnection, campaign_id: str) -> None:
    """Register `_smslab_operator_names` (the MCC/MNC table) and `_smslab_range_holders` (the
    original range holder of each of the campaign's numbers whose reports name no operator)."""
    from smslab import operators

    con.register("_smslab_operator_names", operators.table())
    without = con.execute(_sql(con, """
        SELECT DISTINCT m.msisdn FROM messages m
        WHERE m.campaign_id = $c AND m.msisdn IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM __DLR__ d WHERE d.provider_message_id = m.provider_message_id AND d.operator IS NOT NULL)"""),
        {"c": campaign_id}).fetchall()
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
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND "
                                        "starts_with(table_name, ?)", [stem]).fetchall()}
    if name not in tables:
        for stale in tables:
            con.execute(f"DROP TABLE IF EXISTS temp.{stale}")
        _register_operators(con, campaign_id)
        con.execute(_sql(con, f"CREATE TEMP TABLE {name} AS " + _BASE + "SELECT * FROM base"),
                    _params(campaign_id, attribution_days))
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


def recipients(con: duckdb.DuckDBPyConnection, campaign_id: str, *,
               attribution_days: float = DEFAULT_ATTRIBUTION_DAYS) -> pd.DataFrame:
    """One row per recipient with every funnel flag and dimension; msisdn masked."""
    frame = con.execute(f"SELECT * FROM {_base(con, campaign_id, attribution_days)} ORDER BY msisdn").df()
    return mask_frame(frame)


# ---- the funnel -------------------------------------------------------------------------------

def campaigns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every campaign with its message count, newest first."""
    return con.execute("""
        SELECT c.campaign_id, c.name, c.purpose, c.two_way, c.created_at, count(m.message_id) AS messages
        FROM campaigns c LEFT JOIN messages m USING (campaign_id)
        GROUP BY ALL ORDER BY c.created_at DESC""").df()


def funnel(con: duckdb.DuckDBPyConnection, campaign_id: str, *,
           attribution_days: float = DEFAULT_ATTRIBUTION_DAYS) -> pd.DataFrame:
    """Recipients at each stage, with the share of the targeted and of the stage before.

    Example:
        >>> from smslab import store
        >>> funnel(store.connect(":memory:"), "none")["stage"].tolist()[:3]
        ['targeted', 'allowed', 'submitted']
    """
    row = con.execute(f"SELECT {_COUNTS} FROM {_base(con, campaign_id, attribution_days)}").fetchall()[0]
    counts = [int(v or 0) for v in row]
    frame = pd.DataFrame({"stage": FUNNEL_STAGES, "count": counts})
    top = counts[0] or np.nan
    frame["share_of_targeted"] = frame["count"] / top
    frame["share_of_previous"] = frame["count"] / frame["count"].shift(1).replace(0, np.nan)
    return frame


def funnel_by(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region", *,
              attribution_days: float = DEFAULT_ATTRIBUTION_DAYS, confidence: float = 0.95) -> pd.DataFrame:
    """The funnel per value of a dimension (region, operator, sender_type, sender_id, variant, hour…),
    with delivery, reply, opt-out and conversion rates and a Wilson interval for each.

    Recipients who got no message carry '(not sent)' for the message dimensions.
    """
    col = _dimension(dimension)
    frame = con.execute(f"SELECT {col} AS {dimension}, {_COUNTS} FROM {_base(con, campaign_id, attribution_days)} "
                        "GROUP BY 1 ORDER BY targeted DESC, submitted DESC, 1").df()
    return _with_rates(frame, confidence)


def _with_rates(frame: pd.DataFrame, confidence: float) -> pd.DataFrame:
    for name, (num, den) in {"delivery_rate": ("delivered", "submitted"), "reply_rate": ("replied", "delivered"),
                             "opt_out_rate": ("opted_out", "delivered"),
                             "conversion_rate": ("converted", "delivered")}.items():
        k, n = frame[num].to_numpy(float), frame[den].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[name] = np.where(n > 0, k / n, np.nan)
        lo, hi = wilson_interval(k, n, confidence)
        frame[f"{name}_low"], frame[f"{name}_high"] = lo, hi
    return frame


def summary(con: duckdb.DuckDBPyConnection, campaign_id: str, *,
            attribution_days: float = DEFAULT_ATTRIBUTION_DAYS) -> dict[str, Any]:
    """Headline figures: the funnel counts, the four rates, cost and revenue (per currency)."""
    f = funnel(con, campaign_id, attribution_days=attribution_days).set_index("stage")["count"].to_dict()
    rates = _with_rates(pd.DataFrame([f]), 0.95).iloc[0]
    cost = cost_per_outcome(con, campaign_id, attribution_days=attribution_days)
    return {**{k: int(v) for k, v in f.items()},
            **{r: (None if pd.isna(rates[r]) else float(rates[r]))
               for r in ("delivery_rate", "reply_rate", "opt_out_rate", "conversion_rate")},
            "cost": {row.currency: float(row.cost) for row in cost.itertuples() if row.currency},
            "attribution_days": attribution_days}


def delivery_by(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region", *,
                confidence: float = 0.95) -> pd.DataFrame:
    """Submitted, delivered, failed, delivery rate (Wilson interval) and cost by a dimension."""
    col = _dimension(dimension)
    frame = con.execute(f"""
        SELECT {col} AS {dimension}, count(*) FILTER (WHERE submitted) AS submitted,
               count(*) FILTER (WHERE delivered) AS delivered, count(*) FILTER (WHERE failed) AS failed,
               count(*) FILTER (WHERE submitted AND NOT delivered AND NOT failed) AS pending,
               sum(price) AS cost
        FROM {_base(con, campaign_id, DEFAULT_ATTRIBUTION_DAYS)}
        WHERE allowed GROUP BY 1 ORDER BY submitted DESC, 1""").df()
    k, n = frame["delivered"].to_numpy(float), frame["submitted"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["delivery_rate"] = np.where(n > 0, k / n, np.nan)
    frame["ci_low"], frame["ci_high"] = wilson_interval(k, n, confidence)
    return frame


def status_counts(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Messages by current normalised status."""
    return con.execute("""SELECT status, count(*) AS messages FROM messages WHERE campaign_id = ?
                          GROUP BY status ORDER BY messages DESC, status""", [campaign_id]).df()


def latency(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region") -> pd.DataFrame:
    """Seconds from the moment a message went out to its first delivered report: p50, p90, p99 by a
    dimension, with an 'all' row first."""
    col = _dimension(dimension)
    return con.execute(f"""
        WITH d AS (SELECT {col} AS dim, epoch(delivered_at - sent_at) AS s
                   FROM {_base(con, campaign_id, DEFAULT_ATTRIBUTION_DAYS)}
                   WHERE delivered AND delivered_at IS NOT NULL AND sent_at IS NOT NULL)
        SELECT coalesce(dim, 'all') AS {dimension}, count(*) AS delivered, quantile_cont(s, 0.5) AS p50_s,
               quantile_cont(s, 0.9) AS p90_s, quantile_cont(s, 0.99) AS p99_s, max(s) AS max_s
        FROM d GROUP BY GROUPING SETS ((), (dim)) ORDER BY dim IS NOT NULL, delivered DESC, 1""").df()


# ---- failures ---------------------------------------------------------------------------------

_FAIL_EVENTS = f"""
    WITH f AS (SELECT message_id, region, status, provider_message_id FROM messages
               WHERE campaign_id = $c AND status IN {FAILED}),
    e AS (SELECT provider_message_id, status, error_code, permanent,
                 coalesce(json_extract_string(raw, '$.error.name'), json_extract_string(raw, '$.status.name'),
                          raw_status) AS reason, event_at
          FROM __DLR__ WHERE provider_message_id IN (SELECT provider_message_id FROM f)),
    last AS (SELECT f.message_id, f.region, f.status, arg_max(e.error_code, e.event_at) AS error_code,
                    arg_max(e.reason, e.event_at) AS reason, arg_max(e.permanent, e.event_at) AS permanent
             FROM f LEFT JOIN e ON e.provider_message_id = f.provider_message_id AND e.status = f.status
             GROUP BY ALL)
"""


def failures(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Final failures by status and error (code and name from the report), permanent or temporary."""
    return con.execute(_sql(con, _FAIL_EVENTS + """
        SELECT status, error_code, coalesce(reason, 'unknown') AS reason,
               CASE WHEN permanent THEN 'permanent' WHEN NOT permanent THEN 'temporary' ELSE 'unknown' END AS kind,
               count(*) AS messages
        FROM last GROUP BY ALL ORDER BY messages DESC, status, reason"""), {"c": campaign_id}).df()


def failure_split(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region") -> pd.DataFrame:
    """Failures per region (or 'status') split into permanent (do not retry: bad number, barred)
    and temporary (retry later: absent subscriber, expired), with the share of each."""
    col = {"region": "region", "status": "status"}.get(dimension)
    if col is None:
        raise ValueError("failure_split groups by region or status")
    frame = con.execute(_sql(con, _FAIL_EVENTS + f"""
        SELECT {col} AS {dimension}, count(*) FILTER (WHERE permanent) AS permanent,
               count(*) FILTER (WHERE NOT permanent) AS temporary,
               count(*) FILTER (WHERE permanent IS NULL) AS unknown, count(*) AS failed
        FROM last GROUP BY 1 ORDER BY failed DESC, 1"""), {"c": campaign_id}).df()
    frame["permanent_share"] = frame["permanent"] / frame["failed"].replace(0, np.nan)
    return frame


# ---- replies and opt-outs ---------------------------------------------------------------------

def reply_intents(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Replies by intent and keyword."""
    return con.execute("""SELECT intent, coalesce(keyword, '(free text)') AS keyword, count(*) AS replies
                          FROM inbound WHERE campaign_id = ? GROUP BY ALL ORDER BY replies DESC, intent, keyword""",
                       [campaign_id]).df()


def optout_keywords(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Opt-out replies by keyword and country, with the share of all opt-outs."""
    frame = con.execute("""
        SELECT i.keyword, coalesce(m.region, 'unknown') AS region, count(*) AS opt_outs
        FROM inbound i LEFT JOIN (SELECT DISTINCT msisdn, region FROM messages WHERE campaign_id = $c) m USING (msisdn)
        WHERE i.campaign_id = $c AND i.intent = 'opt_out' GROUP BY ALL ORDER BY opt_outs DESC, 1, 2""",
                        {"c": campaign_id}).df()
    frame["share"] = frame["opt_outs"] / max(int(frame["opt_outs"].sum()), 1)
    return frame


def optout_by(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region", *,
              confidence: float = 0.95) -> pd.DataFrame:
    """Opt-out rate (opted out / delivered, Wilson interval) by a dimension such as region or sender_id."""
    frame = funnel_by(con, campaign_id, dimension, confidence=confidence)
    keep = [dimension, "delivered", "replied", "opted_out", "opt_out_rate", "opt_out_rate_low", "opt_out_rate_high"]
    return frame.loc[frame["delivered"] > 0, keep].sort_values("opt_out_rate", ascending=False).reset_index(drop=True)


def optouts_over_time(con: duckdb.DuckDBPyConnection, campaign_id: str, freq: str = "hour") -> pd.DataFrame:
    """Replies and opt-outs per hour (or day, minute) since the campaign went out, with the
    cumulative opt-out rate over everything delivered."""
    if freq not in ("minute", "hour", "day"):
        raise ValueError("freq is minute, hour or day")
    delivered = int(con.execute("SELECT count(*) FROM messages WHERE campaign_id = ? AND status = 'delivered'",
                                [campaign_id]).fetchall()[0][0])
    frame = con.execute(f"""
        SELECT date_trunc('{freq}', received_at) AS period, count(*) AS replies,
               count(*) FILTER (WHERE intent = 'opt_out') AS opt_outs
        FROM inbound WHERE campaign_id = ? GROUP BY 1 ORDER BY 1""", [campaign_id]).df()
    frame["cumulative_opt_outs"] = frame["opt_outs"].cumsum()
    frame["cumulative_opt_out_rate"] = frame["cumulative_opt_outs"] / delivered if delivered else np.nan
    return frame


def optout_linkage(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Opt-outs received on a number other than the sender (an alphanumeric sender's opt-out short
    code, as in Kenya), how they were scoped in the consent ledger, and whether that scope is the
    sender the message came from (linked)."""
    return con.execute("""
        WITH o AS (SELECT i.provider, i.provider_message_id, i.msisdn, i.recipient FROM inbound i
                   WHERE i.campaign_id = $c AND i.intent = 'opt_out'),
        m AS (SELECT DISTINCT msisdn, region, sender_type, sender_id FROM messages WHERE campaign_id = $c),
        l AS (SELECT json_extract_string(evidence, '$.provider_message_id') AS provider_message_id, scope
              FROM consent WHERE action = 'opt_out')
        SELECT m.region, m.sender_type, m.sender_id, o.recipient AS received_on, l.scope AS consent_scope,
               coalesce(l.scope = upper(m.sender_id), false) AS linked, count(*) AS opt_outs
        FROM o JOIN m USING (msisdn) LEFT JOIN l USING (provider_message_id)
        WHERE o.recipient IS DISTINCT FROM m.sender_id
        GROUP BY ALL ORDER BY opt_outs DESC, 1""", {"c": campaign_id}).df()


def replies_for_review(con: duckdb.DuckDBPyConnection, campaign_id: str, *, limit: int = 50) -> pd.DataFrame:
    """Replies a person should read: free text that may be an opt-out ("please stop texting me"),
    help requests, and other free text; newest first, numbers masked in the sender and the text."""
    from smslab.receiving.keywords import possible_opt_out

    review = "i.review" if "review" in _columns(con, "inbound") else "NULL"  # the loader's flag (migration 2)
    frame = con.execute(f"""
        SELECT i.received_at, coalesce(m.region, 'unknown') AS region, i.msisdn, i.recipient AS received_on,
               i.intent, i.text, {review} AS review
        FROM inbound i LEFT JOIN (SELECT DISTINCT msisdn, region FROM messages WHERE campaign_id = $c) m USING (msisdn)
        WHERE i.campaign_id = $c AND (i.intent IN ('other', 'help') OR {review} IS NOT NULL)""",
                        {"c": campaign_id}).df()
    if frame.empty:
        return pd.DataFrame(columns=["priority", "received_at", "region", "msisdn", "received_on", "intent", "reason",
                                     "text"])
    flag = frame["text"].fillna("").map(possible_opt_out) | (frame["review"] == "possible_opt_out")
    frame["reason"] = np.where(flag, "possible opt-out", np.where(frame["intent"] == "help", "help request",
                               np.where(frame["review"].notna(), frame["review"].fillna("").str.replace("_", " "),
                                        "free text")))
    frame["priority"] = frame["reason"].map({"possible opt-out": 1, "help request": 2, "free text": 3})
    frame = frame.sort_values(["priority", "received_at"], ascending=[True, False]).head(limit)
    frame["text"] = frame["text"].map(mask_text)
    frame = mask_frame(frame)
    return frame[["priority", "received_at", "region", "msisdn", "received_on", "intent", "reason",
                  "text"]].reset_index(drop=True)


# ---- A/B --------------------------------------------------------------------------------------

def ab_test(con: duckdb.DuckDBPyConnection, campaign_id: str, metric: str = "delivered", *,
            attribution_days: float = DEFAULT_ATTRIBUTION_DAYS, confidence: float = 0.95) -> Comparison:
    """Compare the campaign's variants on a metric: delivered (of submitted), replied, opted_out or
    converted (of delivered). See `compare_proportions` for the statistics."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: expected one of {', '.join(METRICS)}")
    num, den = METRICS[metric]
    frame = funnel_by(con, campaign_id, "variant", attribution_days=attribution_days)
    frame = frame[frame["variant"] != NOT_SENT].sort_values("variant")
    label = f"{metric.replace('_', ' ')} / {den}"
    return compare_proportions(frame[num].tolist(), frame[den].tolist(), frame["variant"].tolist(),
                               confidence=confidence, metric=label)


# ---- conversions and cost ---------------------------------------------------------------------

def attributed_conversions(con: duckdb.DuckDBPyConnection, campaign_id: str | None = None, *,
                           attribution_days: float = DEFAULT_ATTRIBUTION_DAYS) -> pd.DataFrame:
    """Conversions attributed last-touch: each conversion goes to the latest delivered message sent
    to that number before it (any campaign), when it came within `attribution_days` of it.
    msisdn masked."""
    where = " WHERE campaign_id = $c" if campaign_id else ""
    sql = f"SELECT * FROM ({_ATTRIBUTED})" + where + " ORDER BY converted_at"
    params: dict[str, Any] = {"w": float(attribution_days) * 86400.0}
    if campaign_id:
        params["c"] = campaign_id
    return mask_frame(con.execute(sql, params).df())


def _sheet_prices(prices: Any = None) -> pd.DataFrame:
    """(region, sender_type, sheet_price, sheet_currency): the indicative price of one segment
    (price plus carrier surcharge) per country and sender type, where the sheet knows it."""
    from smslab.pricing import PriceSheet, load_prices

    sheet = prices if isinstance(prices, PriceSheet) else load_prices(prices)
    rows = [(p.country, p.sender_type, p.price_per_segment + (p.carrier_surcharge_per_segment or 0.0), p.currency)
            for p in sheet.prices.values() if p.price_per_segment is not None and p.currency]
    return pd.DataFrame(rows, columns=["region", "sender_type", "sheet_price", "sheet_currency"])


def _price_basis(row: Any) -> str:
    parts = [(row.priced_by_reports, "provider reports"), (row.priced_by_provider, "provider answers"),
             (row.priced_by_sheet, "indicative sheet"), (row.unpriced, "no price known")]
    used = [f"{int(n):,} {what}" for n, what in parts if n]
    return "; ".join(used) if used else "nothing submitted"


def cost_per_outcome(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str | None = None, *,
                     attribution_days: float = DEFAULT_ATTRIBUTION_DAYS, prices: Any = None) -> pd.DataFrame:
    """What the messages cost, per currency and optionally a dimension, and cost per delivered
    message, per reply and per conversion, with the revenue of the attributed conversions.

    Real prices count first: the price a provider's reports gave (Infobip), else the one its
    submit answer gave; only a message with neither is priced from the indicative sheet
    (`data/pricing/`, or `prices`: a PriceSheet or a sheet file) as price per segment × segments.
    The columns say which were used: `priced_by_reports`, `priced_by_provider`, `priced_by_sheet`,
    `unpriced` (no price anywhere: counted, not costed) and, in words, `price_basis`.
    """
    dim = f"{_dimension(dimension)} AS {dimension}, " if dimension else ""
    base = _base(con, campaign_id, attribution_days)
    con.register("_smslab_sheet", _sheet_prices(prices))
    try:
        frame = con.execute(f"""
            WITH priced AS (
                SELECT b.*, s.sheet_price * greatest(coalesce(b.segments, 1), 1) AS sheet_cost, s.sheet_currency
                FROM {base} b LEFT JOIN _smslab_sheet s ON s.region = b.region AND s.sender_type = b.sender_type
                WHERE b.submitted)
            SELECT {dim}coalesce(currency, CASE WHEN price IS NULL THEN sheet_currency END) AS currency,
                   count(*) AS submitted,
                   count(*) FILTER (WHERE price IS NOT NULL AND price_source = 'report') AS priced_by_reports,
                   count(*) FILTER (WHERE price IS NOT NULL AND price_source IS DISTINCT FROM 'report')
                       AS priced_by_provider,
                   count(*) FILTER (WHERE price IS NULL AND sheet_cost IS NOT NULL) AS priced_by_sheet,
                   count(*) FILTER (WHERE price IS NULL AND sheet_cost IS NULL) AS unpriced,
                   coalesce(sum(coalesce(price, sheet_cost)), 0) AS cost,
                   count(*) FILTER (WHERE delivered) AS delivered, sum(replies) AS replies,
                   sum(conversions) AS conversions, sum(revenue) AS revenue,
                   any_value(revenue_currency) AS revenue_currency
            FROM priced GROUP BY ALL
            ORDER BY {'1, ' if dimension else ''}cost DESC""").df()
    finally:
        con.unregister("_smslab_sheet")
    for name, what in (("cost_per_delivered", "delivered"), ("cost_per_reply", "replies"),
                       ("cost_per_conversion", "conversions")):
        frame[name] = frame["cost"] / frame[what].replace(0, np.nan)
    frame["price_basis"] = [_price_basis(r) for r in frame.itertuples()]
    return frame


_CONV_COLUMNS = {"msisdn": ("msisdn", "phone", "phone_number", "number", "mobile"),
                 "time": ("time", "converted_at", "timestamp", "date", "datetime"),
                 "value": ("value", "amount", "revenue"),
                 "currency": ("currency",), "reference": ("reference", "order_id", "id")}


def import_conversions(path: str | Path, *, con: duckdb.DuckDBPyConnection | None = None, db: Any = None,
                       default_region: str | None = None, currency: str | None = None) -> dict[str, int]:
    """Load conversions from a CSV (msisdn, time, value[, currency, reference]) into `conversions`.

    Numbers are normalised to E.164 (`default_region` for national formats), times parsed as ISO
    8601 (no offset = UTC), values as numbers. A row that cannot be used goes to `quarantine`
    with its line and why; importing the same file again adds nothing (a conversion is the
    same when number, time, value, currency and reference are).

    Example::

        import_conversions("orders.csv", db="data/smslab.duckdb", default_region="FR", currency="EUR")
        {'loaded': 120, 'duplicates': 0, 'quarantined': 2}
    """
    from smslab import store
    from smslab.errors import InputError
    from smslab.numbers import normalize

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such conversions file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not header:
        raise InputError(f"{path}: line 1: empty file; expected a header msisdn,time,value[,currency,reference]")
    names = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for key, aliases in _CONV_COLUMNS.items():
        for alias in aliases:
            if alias in names:
                index[key] = names.index(alias)
                break
    missing = [k for k in ("msisdn", "time", "value") if k not in index]
    if missing:
        raise InputError(f"{path}: line 1: missing column(s) {', '.join(missing)} "
                         f"(found: {', '.join(names)}; expected msisdn,time,value[,currency,reference])")

    def cell(r: list[str], key: str) -> str:
        i = index.get(key)
        return r[i].strip() if i is not None and i < len(r) else ""

    frame = pd.DataFrame({"line": [ln for ln, _ in rows],
                          "raw": [",".join(r) for _, r in rows],
                          "msisdn_in": [cell(r, "msisdn") for _, r in rows],
                          "time_in": [cell(r, "time") for _, r in rows],
                          "value_in": [cell(r, "value") for _, r in rows],
                          "currency": [cell(r, "currency").upper() or (currency or "").upper() or None
                                       for _, r in rows],
                          "reference": [cell(r, "reference") or None for _, r in rows],
                          "width": [len(r) for _, r in rows]})
    numbers = normalize(frame["msisdn_in"], default_region=default_region) if len(frame) else pd.DataFrame(
        columns=["e164", "valid", "error"])
    frame["msisdn"] = numbers["e164"].where(numbers["valid"].astype(bool)).to_numpy()
    times = pd.to_datetime(frame["time_in"], utc=True, errors="coerce", format="ISO8601")
    frame["converted_at"] = times.dt.tz_localize(None)
    frame["value"] = pd.to_numeric(frame["value_in"], errors="coerce")
    reasons: list[str | None] = []
    for i, row in enumerate(frame.itertuples()):
        if row.width != len(header):
            reasons.append(f"expected {len(header)} fields, got {row.width}")
        elif row.msisdn is None or (isinstance(row.msisdn, float) and math.isnan(row.msisdn)):
            reasons.append(f"msisdn {row.msisdn_in!r}: {numbers['error'].iloc[i] or 'not a valid number'}")
        elif pd.isna(row.converted_at):
            reasons.append(f"time {row.time_in!r}: expected an ISO 8601 date and time")
        elif pd.isna(row.value) or not math.isfinite(row.value):
            reasons.append(f"value {row.value_in!r}: expected a number")
        elif row.currency is not None and not re.fullmatch(r"[A-Z]{3}", row.currency):
            reasons.append(f"currency {row.currency!r}: expected a three-letter code such as EUR")
        else:
            reasons.append(None)
    frame["reason"] = reasons
    bad = frame[frame["reason"].notna()]
    good = frame[frame["reason"].isna()][["msisdn", "converted_at", "value", "currency", "reference"]]
    good = good.drop_duplicates()
    own = None
    if con is None:
        con = own = store.connect(db)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            before = int(store.scalar(con, "SELECT count(*) FROM conversions"))
            if len(good):
                con.register("_smslab_conv", good)
                con.execute("""INSERT INTO conversions
                               SELECT msisdn, converted_at, value, currency, reference FROM _smslab_conv g
                               WHERE NOT EXISTS (SELECT 1 FROM conversions c WHERE c.msisdn = g.msisdn
                                   AND c.converted_at = g.converted_at AND c.value = g.value
                                   AND c.currency IS NOT DISTINCT FROM g.currency
                                   AND c.reference IS NOT DISTINCT FROM g.reference)""")
                con.unregister("_smslab_conv")
            loaded = int(store.scalar(con, "SELECT count(*) FROM conversions")) - before
            quarantined = store.quarantine(con, [
                {"source": f"conversions:{path.name}", "location": f"{path}:{r.line}", "raw": r.raw, "reason": r.reason}
                for r in bad.itertuples()])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        if own is not None:
            own.close()
    return {"loaded": loaded, "duplicates": int(len(frame) - len(bad) - loaded), "quarantined": int(len(bad)),
            "new_quarantined": int(quarantined)}


def freshness(con: duckdb.DuckDBPyConnection) -> dict:
    """How fresh the data is: the latest report, reply and load."""
    row = con.execute("""SELECT (SELECT max(received_at) FROM dlr_events), (SELECT max(received_at) FROM inbound),
                                (SELECT max(loaded_at) FROM journal_offsets)""").fetchall()[0]
    return {"latest_report": row[0], "latest_reply": row[1], "latest_load": row[2]}
