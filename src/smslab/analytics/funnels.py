"""The funnel and its rates: how many recipients reached each stage, overall and per dimension.

Example:
    >>> from smslab import store
    >>> int(funnel(store.connect(":memory:"), "none")["count"].sum())
    0
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from smslab.analytics.attribution import DEFAULT_ATTRIBUTION_DAYS
from smslab.analytics.base import _COUNTS, FUNNEL_STAGES, _base, _dimension
from smslab.analytics.cost import cost_per_outcome
from smslab.stats import wilson_interval


def campaigns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every campaign with its message count, newest first."""
    return con.execute("""
        SELECT c.campaign_id, c.name, c.purpose, c.two_way, c.created_at, count(m.message_id) AS messages
        FROM campaigns c LEFT JOIN messages m USING (campaign_id)
        GROUP BY ALL ORDER BY c.created_at DESC""").df()


def funnel(
    con: duckdb.DuckDBPyConnection, campaign_id: str, *, attribution_days: float = DEFAULT_ATTRIBUTION_DAYS
) -> pd.DataFrame:
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


def funnel_by(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str,
    dimension: str = "region",
    *,
    attribution_days: float = DEFAULT_ATTRIBUTION_DAYS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The funnel per value of a dimension (region, operator, sender_type, sender_id, variant, hour…),
    with delivery, reply, opt-out and conversion rates and a Wilson interval for each.

    Recipients who got no message carry '(not sent)' for the message dimensions.
    """
    col = _dimension(dimension)
    frame = con.execute(
        f"SELECT {col} AS {dimension}, {_COUNTS} FROM {_base(con, campaign_id, attribution_days)} "
        "GROUP BY 1 ORDER BY targeted DESC, submitted DESC, 1"
    ).df()
    return _with_rates(frame, confidence)


def _with_rates(frame: pd.DataFrame, confidence: float) -> pd.DataFrame:
    for name, (num, den) in {
        "delivery_rate": ("delivered", "submitted"),
        "reply_rate": ("replied", "delivered"),
        "opt_out_rate": ("opted_out", "delivered"),
        "conversion_rate": ("converted", "delivered"),
    }.items():
        k, n = frame[num].to_numpy(float), frame[den].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[name] = np.where(n > 0, k / n, np.nan)
        lo, hi = wilson_interval(k, n, confidence)
        frame[f"{name}_low"], frame[f"{name}_high"] = lo, hi
    return frame


def summary(
    con: duckdb.DuckDBPyConnection, campaign_id: str, *, attribution_days: float = DEFAULT_ATTRIBUTION_DAYS
) -> dict[str, Any]:
    """Headline figures: the funnel counts, the four rates, cost and revenue (per currency)."""
    f = funnel(con, campaign_id, attribution_days=attribution_days).set_index("stage")["count"].to_dict()
    rates = _with_rates(pd.DataFrame([f]), 0.95).iloc[0]
    cost = cost_per_outcome(con, campaign_id, attribution_days=attribution_days)
    return {
        **{k: int(v) for k, v in f.items()},
        **{
            r: (None if pd.isna(rates[r]) else float(rates[r]))
            for r in ("delivery_rate", "reply_rate", "opt_out_rate", "conversion_rate")
        },
        "cost": {row.currency: float(row.cost) for row in cost.itertuples() if row.currency},
        "attribution_days": attribution_days,
    }


def freshness(con: duckdb.DuckDBPyConnection) -> dict:
    """How fresh the data is: the latest report, reply and load."""
    row = con.execute("""SELECT (SELECT max(received_at) FROM dlr_events), (SELECT max(received_at) FROM inbound),
                                (SELECT max(loaded_at) FROM journal_offsets)""").fetchall()[0]
    return {"latest_report": row[0], "latest_reply": row[1], "latest_load": row[2]}
