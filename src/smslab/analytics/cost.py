"""Cost per outcome: what the messages cost and what each delivery, reply and conversion cost.

Example:
    >>> from smslab import store
    >>> cost_per_outcome(store.connect(":memory:"), "none").empty
    True
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from smslab.analytics.attribution import DEFAULT_ATTRIBUTION_DAYS
from smslab.analytics.base import _base, _dimension


def _sheet_prices(prices: Any = None) -> pd.DataFrame:
    """(region, sender_type, sheet_price, sheet_currency): the indicative price of one segment
    (price plus carrier surcharge) per country and sender type, where the sheet knows it."""
    from smslab.pricing import PriceSheet, load_prices

    sheet = prices if isinstance(prices, PriceSheet) else load_prices(prices)
    rows = [
        (p.country, p.sender_type, p.price_per_segment + (p.carrier_surcharge_per_segment or 0.0), p.currency)
        for p in sheet.prices.values()
        if p.price_per_segment is not None and p.currency
    ]
    return pd.DataFrame(rows, columns=["region", "sender_type", "sheet_price", "sheet_currency"])


def _price_basis(row: Any) -> str:
    parts = [
        (row.priced_by_reports, "provider reports"),
        (row.priced_by_provider, "provider answers"),
        (row.priced_by_sheet, "indicative sheet"),
        (row.unpriced, "no price known"),
    ]
    used = [f"{int(n):,} {what}" for n, what in parts if n]
    return "; ".join(used) if used else "nothing submitted"


def cost_per_outcome(
    con: duckdb.DuckDBPyConnection,
    campaign_id: str,
    dimension: str | None = None,
    *,
    attribution_days: float = DEFAULT_ATTRIBUTION_DAYS,
    prices: Any = None,
) -> pd.DataFrame:
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
            ORDER BY {"1, " if dimension else ""}cost DESC""").df()
    finally:
        con.unregister("_smslab_sheet")
    for name, what in (
        ("cost_per_delivered", "delivered"),
        ("cost_per_reply", "replies"),
        ("cost_per_conversion", "conversions"),
    ):
        frame[name] = frame["cost"] / frame[what].replace(0, np.nan)
    frame["price_basis"] = [_price_basis(r) for r in frame.itertuples()]
    return frame
