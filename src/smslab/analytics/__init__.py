"""Analytics over the store: did the campaign work, for whom, and at what cost?

Every function takes a DuckDB connection and a campaign id and returns a pandas DataFrame (or
a small result object) ready for a notebook to chart. Logic lives here, in SQL run by DuckDB,
so a notebook cell is one call. Phone numbers never leave unmasked: functions that return
individual recipients mask them (`smslab.masking`), everything else is aggregated. Statistics
live in `smslab.stats`; the pre-send planning views in `smslab.reporting.views.planning`;
loading conversions in `smslab.conversions`.

One module per question:

    base         the per-recipient base every count reads (`recipients`)
    funnels      the funnel and its rates, headline figures, data freshness
    delivery     delivery by dimension, statuses, latency, failures
    replies      reply intents, opt-out keywords, rates and linkage, replies for review
    ab           A/B tests between variants
    attribution  last-touch attribution of conversions
    cost         cost per delivered message, reply and conversion

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

from smslab.analytics.ab import METRICS, ab_test
from smslab.analytics.attribution import DEFAULT_ATTRIBUTION_DAYS, attributed_conversions
from smslab.analytics.base import DIMENSIONS, FAILED, FUNNEL_STAGES, NOT_SENT, recipients
from smslab.analytics.cost import cost_per_outcome
from smslab.analytics.delivery import delivery_by, failure_split, failures, latency, status_counts
from smslab.analytics.funnels import campaigns, freshness, funnel, funnel_by, summary
from smslab.analytics.replies import (
    optout_by,
    optout_keywords,
    optout_linkage,
    optouts_over_time,
    replies_for_review,
    reply_intents,
)

__all__ = [
    "DEFAULT_ATTRIBUTION_DAYS",
    "DIMENSIONS",
    "FAILED",
    "FUNNEL_STAGES",
    "METRICS",
    "NOT_SENT",
    "ab_test",
    "attributed_conversions",
    "campaigns",
    "cost_per_outcome",
    "delivery_by",
    "failure_split",
    "failures",
    "freshness",
    "funnel",
    "funnel_by",
    "latency",
    "optout_by",
    "optout_keywords",
    "optout_linkage",
    "optouts_over_time",
    "recipients",
    "replies_for_review",
    "reply_intents",
    "status_counts",
    "summary",
]
