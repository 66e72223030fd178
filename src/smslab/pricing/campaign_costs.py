"""Whole-campaign message cost: audience × segments × price, per country and A/B variant.

Example (``status`` is known, partial or unknown)::

    result = campaign_cost("data/samples/campaign.yaml", rates={"EUR/USD": 1.08})
    result["status"], result["known_total"], result["known_saving"]
"""

from __future__ import annotations

from typing import Any

from smslab.pricing.options import _money
from smslab.pricing.rates import Rates, load_rates
from smslab.pricing.sheets import UNKNOWN, PriceSheet, load_prices


def campaign_cost(
    spec: Any,
    *,
    audience: Any = None,
    prices: PriceSheet | str | None = None,
    rates: Rates | str | dict[str, float] | None = None,
    currency: str = "USD",
    transliterate: bool = False,
    ruleset: Any = None,
) -> dict[str, Any]:
    """Message cost of a whole campaign spec: audience × segments × price per country and variant,
    and what `gsm_safe` would save. Fixed fees (setup, lease) are not included: see `plan`.

    ``audience`` is a DataFrame with ``msisdn`` and ``region`` (default: the spec's audience file
    through `smslab.audience.load`). A country whose price is unknown is listed in ``unknown``
    and makes the total ``partial``: it is never counted as free.

    Example (``status`` is known, partial or unknown)::

        result = campaign_cost("data/samples/campaign.yaml", rates={"EUR/USD": 1.08})
        result["status"], result["known_total"], result["known_saving"]
    """
    import pandas as pd

    from smslab.campaign import load_spec
    from smslab.segments import count, gsm_safe, segment_limit

    spec = load_spec(spec)
    if audience is None:
        from smslab.audience import load as load_audience

        audience = load_audience(spec.audience_path, default_region=spec.default_region).frame
    frame = pd.DataFrame(
        {"msisdn": audience["msisdn"].astype(str), "region": audience["region"].fillna("").astype(str)}
    )
    frame["variant"] = [spec.variant_for(m) for m in frame["msisdn"]]
    sheet = prices if isinstance(prices, PriceSheet) else load_prices(prices)
    table = rates if isinstance(rates, Rates) else load_rates(rates)
    target = currency.upper()
    groups = frame.groupby(["region", "variant"], sort=True).size()
    rows: list[dict[str, Any]] = []
    by_currency: dict[str, dict[str, float]] = {}
    unknown: list[dict[str, Any]] = []
    totals = {"cost": 0.0, "cost_gsm_safe": 0.0, "saving": 0.0}
    convertible = True
    for (region, variant), recipients in groups.items():
        text = spec.text_for(region or None, variant)
        sender = spec.sender_for(region or None)
        seg = count(text)
        safe = gsm_safe(text, transliterate=transliterate)
        price = sheet.get(region, sender.type) if (sender and region) else None
        per_segment = None
        if (
            price is not None
            and price.price_per_segment is not None
            and price.carrier_surcharge_per_segment is not None
        ):
            per_segment = price.price_per_segment + price.carrier_surcharge_per_segment
        limit = segment_limit(region, sender.type if sender else None, ruleset=ruleset) if region else None
        row = {
            "country": region or None,
            "variant": variant,
            "recipients": int(recipients),
            "sender_type": sender.type if sender else None,
            "encoding": seg.encoding,
            "segments": seg.segments,
            "non_gsm": seg.non_gsm,
            "segments_gsm_safe": safe.after.segments,
            "max_segments": limit,
            "over_limit": limit is not None and seg.segments > limit,
            "currency": price.currency if price else None,
            "price_per_segment": per_segment,
            "cost": None,
            "cost_gsm_safe": None,
            "saving": None,
        }
        if per_segment is not None and price is not None and price.currency:
            row["cost"] = _money(recipients * seg.segments * per_segment)
            row["cost_gsm_safe"] = _money(recipients * safe.after.segments * per_segment)
            row["saving"] = _money(row["cost"] - row["cost_gsm_safe"])
            acc = by_currency.setdefault(price.currency, {"cost": 0.0, "cost_gsm_safe": 0.0, "saving": 0.0})
            for key in acc:
                acc[key] = _money(acc[key] + row[key]) or 0.0
                converted = table.convert(row[key], price.currency, target)
                if converted is None:
                    convertible = False
                else:
                    totals[key] += converted
        else:
            why = (
                "no sender for this country in the spec"
                if sender is None
                else "audience rows without a region"
                if not region
                else f"price unknown for {region} {sender.type}"
            )
            unknown.append(
                {"country": region or None, "variant": variant, "recipients": int(recipients), "reason": why}
            )
        rows.append(row)
    messages = int(groups.sum()) if len(groups) else 0
    priced = sum(r["recipients"] for r in rows if r["cost"] is not None)
    status = "known" if not unknown else ("partial" if priced else UNKNOWN)
    result = {
        "campaign_id": spec.campaign_id,
        "messages": messages,
        "segments": int(sum(r["recipients"] * r["segments"] for r in rows)),
        "segments_gsm_safe": int(sum(r["recipients"] * r["segments_gsm_safe"] for r in rows)),
        "rows": rows,
        "by_currency": by_currency,
        "currency": target,
        "total": _money(totals["cost"]) if (convertible and status == "known") else None,
        "total_gsm_safe": _money(totals["cost_gsm_safe"]) if (convertible and status == "known") else None,
        "saving": _money(totals["saving"]) if (convertible and status == "known") else None,
        "known_total": _money(totals["cost"]) if convertible else None,
        "known_saving": _money(totals["saving"]) if convertible else None,
        "status": status,
        "unknown": unknown,
        "notes": ([] if convertible else [f"no rate to convert every currency to {target}: see by_currency"])
        + ["message cost only: setup fees and leases are in `smslab cost` / pricing.plan"],
    }
    return result
