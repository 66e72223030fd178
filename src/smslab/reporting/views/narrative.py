"""Plain-words summaries: the paragraph a manager reads first at the top of each report.

Each function takes the same library results the report's tables are drawn from and says what
they add up to, in one paragraph, with the numbers rounded the way the tables show them. Tests
check every figure in these sentences against the tables.

Example:
    >>> from smslab import analytics, store
    >>> con = store.connect(":memory:")
    >>> delivery_summary(analytics.summary(con, "none"), analytics.funnel_by(con, "none", "region"))
    'Nothing was sent yet: the campaign has 0 recipients and no message went out.'
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from smslab.stats import wilson_interval

METRIC_WORDS = {
    "delivered": "delivery rate",
    "replied": "reply rate",
    "opted_out": "opt-out rate",
    "converted": "conversion rate",
}


def _pct(value: float, digits: int = 1) -> str:
    """0.8858 -> '88.6%', as the report's tables write it."""
    return f"{value * 100:.{digits}f}%"


def _ci(successes: int, trials: int) -> str:
    """'95% CI 81–94%': the Wilson interval, widened to whole percent."""
    low, high = (float(x) for x in wilson_interval(successes, trials))
    return f"95% CI {math.floor(low * 100):.0f}–{math.ceil(high * 100):.0f}%"


def _money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}" if abs(value) >= 1 or value == 0 else f"{value:.4f} {currency}"


def _highest(frame: pd.DataFrame, key: str, rate: str, count: str) -> tuple[str, float] | None:
    """The group with the highest rate among those with at least one event."""
    if frame is None or frame.empty or count not in frame or rate not in frame:
        return None
    hit = frame[(frame[count] > 0) & frame[rate].notna()]
    if hit.empty:
        return None
    top = hit.sort_values([rate, count], ascending=[False, False]).iloc[0]
    return str(top[key]), float(top[rate])


def ab_sentence(comparison: Any) -> str:
    """'Variant B's reply rate (5.9%) is not significantly different from A's (8.2%; Fisher's exact test p = 0.71).'"""
    if comparison is None:
        return ""
    t = comparison.table
    what = METRIC_WORDS.get(str(comparison.metric).split(" /")[0].strip(), "rate")
    if len(t) < 2 or t["trials"].min() == 0:
        return (
            "There is no A/B comparison: the campaign has one variant."
            if len(t) < 2
            else f"The variants cannot be compared yet: one has no {what.split()[0]} data."
        )
    groups = list(t["group"].astype(str))
    rates = dict(zip(groups, t["rate"], strict=True))
    verdict = "is significantly different" if comparison.significant else "is not significantly different"
    test = f"{comparison.test} p = {comparison.p_value:.2g}"
    if len(t) == 2:
        a, b = groups
        return f"Variant {b}'s {what} ({_pct(rates[b])}) {verdict} from {a}'s ({_pct(rates[a])}; {test})."
    best = max(groups, key=lambda g: rates[g])
    verdict = "differ significantly" if comparison.significant else "do not differ significantly"
    return (
        f"The {what}s of variants {', '.join(groups)} {verdict} ({test}); "
        f"the highest is {best}'s ({_pct(rates[best])})."
    )


def delivery_summary(kpi: dict[str, Any], by_region: pd.DataFrame, comparison: Any = None) -> str:
    """The delivery funnel in one paragraph, from `analytics.summary`, `analytics.funnel_by(…,
    "region")` and optionally `analytics.ab_test`.

    'Delivered 100 of 113 messages sent out (88.5%, 95% CI 81–94%); 7 recipients were not sent
    a message. 7 replied (7.0% of delivered) and 2 opted out (2.0%), highest in FR (4.3%). …'
    """
    targeted, submitted, delivered = (int(kpi.get(k, 0) or 0) for k in ("targeted", "submitted", "delivered"))
    if submitted == 0:
        return f"Nothing was sent yet: the campaign has {targeted:,} recipients and no message went out."
    parts = [
        f"Delivered {delivered:,} of {submitted:,} messages sent out ({_pct(delivered / submitted)}, "
        f"{_ci(delivered, submitted)})"
    ]
    not_sent = targeted - int(kpi.get("allowed", submitted) or 0)
    if not_sent > 0:
        parts[0] += (
            f"; {not_sent:,} of {targeted:,} recipients were not sent a message (no consent, opted out or not allowed)"
        )
    parts[0] += "."
    replied, opted = int(kpi.get("replied", 0) or 0), int(kpi.get("opted_out", 0) or 0)
    if delivered:
        sentence = (
            f"{replied:,} replied ({_pct(replied / delivered)} of delivered) and "
            f"{opted:,} opted out ({_pct(opted / delivered)})"
        )
        top = _highest(by_region, "region", "opt_out_rate", "opted_out")
        if top and opted:
            sentence += f", highest in {top[0]} ({_pct(top[1])})"
        parts.append(sentence + ".")
        converted = int(kpi.get("converted", 0) or 0)
        if converted:
            parts.append(
                f"{converted:,} converted within {kpi.get('attribution_days', 7):g} days of delivery "
                f"({_pct(converted / delivered)})."
            )
    ab = ab_sentence(comparison)
    if ab:
        parts.append(ab)
    costs = kpi.get("cost") or {}
    if costs:
        spent = "; ".join(
            f"{_money(v, c)}" + (f", {_money(v / delivered, c)} per delivered message" if delivered else "")
            for c, v in costs.items()
        )
        parts.append(f"Messages cost {spent}.")
    return " ".join(parts)


def optout_summary(
    kpi: dict[str, Any],
    by_region: pd.DataFrame,
    keywords: pd.DataFrame | None = None,
    linkage: pd.DataFrame | None = None,
) -> str:
    """Opt-outs and replies in one paragraph, from `analytics.summary`, `analytics.optout_by(…,
    "region")`, `analytics.optout_keywords` and `analytics.optout_linkage`."""
    delivered, replied, opted = (int(kpi.get(k, 0) or 0) for k in ("delivered", "replied", "opted_out"))
    if not delivered:
        return "No message has been delivered yet, so there are no replies or opt-outs to count."
    parts = [
        f"{opted:,} of {delivered:,} people who received the message opted out ({_pct(opted / delivered)}, "
        f"{_ci(opted, delivered)}) and {replied:,} replied ({_pct(replied / delivered)})."
    ]
    top = _highest(by_region, "region", "opt_out_rate", "opted_out")
    if top and opted:
        parts.append(f"The opt-out rate is highest in {top[0]} ({_pct(top[1])}).")
    if keywords is not None and len(keywords):
        words = keywords.groupby("keyword")["opt_outs"].sum().sort_values(ascending=False)
        parts.append(
            f"The most used opt-out word is {words.index[0]} ({int(words.iloc[0]):,} of {int(words.sum()):,})."
        )
    if linkage is not None and len(linkage):
        total = int(linkage["opt_outs"].sum())
        linked = int(linkage.loc[linkage["linked"], "opt_outs"].sum())
        parts.append(
            f"{linked:,} of {total:,} opt-outs received on another number (an opt-out short code) "
            "were matched to the sender they are about" + ("." if linked == total else "; check the others.")
        )
    return " ".join(parts)


def setup_summary(counts: dict[str, int], findings: pd.DataFrame, decisions: pd.DataFrame) -> str:
    """The pre-flight check in one paragraph, from `result.counts()`, `reporting.findings_frame`
    and `planning.decisions_by_country`."""
    total = int(counts.get("total", 0))
    allowed, deferred, blocked = (int(counts.get(k, 0)) for k in ("allowed", "deferred", "blocked"))
    if not total:
        return "The campaign has no recipient to check."
    parts = [
        f"Of {total:,} recipients, {allowed:,} can be sent to now ({_pct(allowed / total, 0)}), "
        f"{deferred:,} wait for their next allowed time and {blocked:,} are blocked"
    ]
    if blocked and len(decisions) and "blocked" in decisions:
        worst = decisions.sort_values(["blocked", "region"], ascending=[False, True]).iloc[0]
        parts[0] += f", most in {worst['region']} ({int(worst['blocked']):,})"
    parts[0] += "."
    severity = findings["severity"] if len(findings) else pd.Series(dtype=str)
    blocking = int((severity == "block").sum())
    warnings = int((severity == "warn").sum())
    if blocking:
        rules = ", ".join(sorted(set(findings.loc[severity == "block", "rule"].astype(str).str.replace("_", " "))))
        parts.append(
            f"{blocking:,} finding{'s' if blocking != 1 else ''} stop the campaign ({rules}); fix them before sending."
        )
    else:
        parts.append("Nothing stops the campaign.")
    if warnings:
        parts.append(f"{warnings:,} warning{'s' if warnings != 1 else ''} need a look.")
    return " ".join(parts)


def cost_summary(options: pd.DataFrame, campaign: dict[str, Any], *, months: float, currency: str) -> str:
    """Sender choice and cost in one paragraph, from `planning.sender_options` and
    `pricing.campaign_cost`."""
    parts = []
    chosen = options[options["recommended"].astype(bool)] if len(options) else options
    if len(chosen):
        kinds = chosen.groupby("sender_type")["region"].apply(lambda r: ", ".join(sorted(r)))
        listed = "; ".join(f"{k.replace('_', ' ')} in {v}" for k, v in kinds.items())
        parts.append(f"Recommended senders: {listed}.")
    no_option = sorted(set(options["region"]) - set(options.loc[options["allowed"].astype(bool), "region"]))
    if no_option:
        parts.append(f"No sender type is allowed in {', '.join(no_option)}.")
    late = chosen[chosen["ready_by_launch"].eq(False)] if len(chosen) else chosen
    if len(late):
        parts.append(
            f"{len(late)} of {len(chosen)} recommended senders cannot be ready by the launch "
            f"({', '.join(sorted(late['region']))}) unless they are already registered."
        )
    known = float(campaign.get("known_total") or 0)
    if campaign.get("status") == "known":
        parts.append(f"Sending the campaign's messages costs {_money(known, currency)}.")
    else:
        unknown = sorted({u["country"] for u in campaign.get("unknown", [])})
        parts.append(
            f"The message cost is known for part of the campaign only: {_money(known, currency)} so far; "
            f"prices are unknown for {', '.join(unknown) or 'some countries'}."
        )
    saving = float(campaign.get("known_saving") or 0)
    if saving > 0:
        parts.append(f"GSM-safe texts would save {_money(saving, currency)}.")
    parts.append(f"Fixed fees over {months:g} months are in the table below.")
    return " ".join(parts)
