"""Delivery: rates by dimension, current statuses, latency, and why messages failed.

Example:
    >>> from smslab import store
    >>> status_counts(store.connect(":memory:"), "none").empty
    True
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from smslab import sql
from smslab.analytics.attribution import DEFAULT_ATTRIBUTION_DAYS
from smslab.analytics.base import FAILED, _base, _dimension, _sql
from smslab.stats import wilson_interval


def delivery_by(
    con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region", *, confidence: float = 0.95
) -> pd.DataFrame:
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
    return con.execute(
        """SELECT status, count(*) AS messages FROM messages WHERE campaign_id = ?
                          GROUP BY status ORDER BY messages DESC, status""",
        [campaign_id],
    ).df()


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


_FAIL_EVENTS = f"""
    WITH f AS (SELECT message_id, region, status, provider_message_id FROM messages
               WHERE campaign_id = $c AND status IN ({sql.values(FAILED)})),
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
    return con.execute(
        _sql(
            con,
            _FAIL_EVENTS
            + """
        SELECT status, error_code, coalesce(reason, 'unknown') AS reason,
               CASE WHEN permanent THEN 'permanent' WHEN NOT permanent THEN 'temporary' ELSE 'unknown' END AS kind,
               count(*) AS messages
        FROM last GROUP BY ALL ORDER BY messages DESC, status, reason""",
        ),
        {"c": campaign_id},
    ).df()


def failure_split(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region") -> pd.DataFrame:
    """Failures per region (or 'status') split into permanent (do not retry: bad number, barred)
    and temporary (retry later: absent subscriber, expired), with the share of each."""
    col = {"region": "region", "status": "status"}.get(dimension)
    if col is None:
        raise ValueError("failure_split groups by region or status")
    frame = con.execute(
        _sql(
            con,
            _FAIL_EVENTS
            + f"""
        SELECT {col} AS {dimension}, count(*) FILTER (WHERE permanent) AS permanent,
               count(*) FILTER (WHERE NOT permanent) AS temporary,
               count(*) FILTER (WHERE permanent IS NULL) AS unknown, count(*) AS failed
        FROM last GROUP BY 1 ORDER BY failed DESC, 1""",
        ),
        {"c": campaign_id},
    ).df()
    frame["permanent_share"] = frame["permanent"] / frame["failed"].replace(0, np.nan)
    return frame
