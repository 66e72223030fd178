"""A/B tests: compare a campaign's variants on one metric (see `smslab.stats`).

Example:
    >>> from smslab import store
    >>> ab_test(store.connect(":memory:"), "none", "clicks")
    Traceback (most recent call last):
    ValueError: metric 'clicks': expected one of delivered, replied, opted_out, converted
"""

from __future__ import annotations

import duckdb

from smslab.analytics.attribution import DEFAULT_ATTRIBUTION_DAYS
from smslab.analytics.base import NOT_SENT
from smslab.analytics.funnels import funnel_by
from smslab.stats import Comparison, compare_proportions

# what each A/B metric counts, and over which base
METRICS: dict[str, tuple[str, str]] = {
    "delivered": ("delivered", "submitted"),
    "replied": ("replied", "delivered"),
    "opted_out": ("opted_out", "delivered"),
    "converted": ("converted", "delivered"),
}


def ab_test(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str,
    metric: str = "delivered",
    *,
    attribution_days: float = DEFAULT_ATTRIBUTION_DAYS,
    confidence: float = 0.95,
) -> Comparison:
    """Compare the campaign's variants on a metric: delivered (of submitted), replied, opted_out or
    converted (of delivered). See `compare_proportions` for the statistics."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: expected one of {', '.join(METRICS)}")
    num, den = METRICS[metric]
    frame = funnel_by(con, campaign_id, "variant", attribution_days=attribution_days)
    frame = frame[frame["variant"] != NOT_SENT].sort_values("variant")
    label = f"{metric.replace('_', ' ')} / {den}"
    return compare_proportions(
        frame[num].tolist(), frame[den].tolist(), frame["variant"].tolist(), confidence=confidence, metric=label
    )
