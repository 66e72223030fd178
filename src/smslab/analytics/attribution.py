"""Last-touch attribution: which campaign each conversion belongs to.

A conversion goes to the latest delivered message sent to that number before it (any
campaign), when it came within `attribution_days` of it. `_ATTRIBUTED` is the SQL; the
per-recipient base (`analytics.base`) and `cost_per_outcome` count with it.

Example:
    >>> from smslab import store
    >>> attributed_conversions(store.connect(":memory:"), "none").empty
    True
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from smslab.masking import mask_frame

DEFAULT_ATTRIBUTION_DAYS = 7.0


def _touch_sql() -> str:
    return """SELECT campaign_id, msisdn, greatest(submitted_at, coalesce(scheduled_at, submitted_at)) AS sent_at
              FROM messages WHERE status = 'delivered' AND submitted_at IS NOT NULL"""


_ATTRIBUTED = f"""
    SELECT c.msisdn, c.converted_at, c.value, c.currency, c.reference, t.campaign_id, t.sent_at
    FROM conversions c ASOF JOIN ({_touch_sql()}) t ON c.msisdn = t.msisdn AND c.converted_at >= t.sent_at
    WHERE c.converted_at < t.sent_at + to_seconds($w)"""


def attributed_conversions(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str | None = None,
    *,
    attribution_days: float = DEFAULT_ATTRIBUTION_DAYS,
) -> pd.DataFrame:
    """Conversions attributed last-touch: each conversion goes to the latest delivered message sent
    to that number before it (any campaign), when it came within `attribution_days` of it.
    msisdn masked."""
    where = " WHERE campaign_id = $c" if campaign_id else ""
    sql = f"SELECT * FROM ({_ATTRIBUTED})" + where + " ORDER BY converted_at"
    params: dict[str, Any] = {"w": float(attribution_days) * 86400.0}
    if campaign_id:
        params["c"] = campaign_id
    return mask_frame(con.execute(sql, params).df())
