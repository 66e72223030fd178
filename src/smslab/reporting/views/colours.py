"""One colour meaning and one vocabulary in every report: status words to colours, column names to words.

Good is green, waiting amber, bad red, unknown grey; anything else (countries, sender types,
keywords…) is drawn from NEUTRAL, which has none of those four.

Example:
    >>> COLOURS["delivered"] == GREEN, words("lead_time_weeks")
    (True, 'Weeks to get ready')
"""

from __future__ import annotations

from typing import Any

# One colour meaning in every report and notebook: good green, waiting amber, bad red, unknown grey.
GREEN, AMBER, RED, GREY, BLUE = "#2e7d32", "#f9a825", "#c62828", "#9e9e9e", "#1f5f99"
COLOURS: dict[str, str] = {
    # compliance decisions and severities
    "allowed": GREEN,
    "deferred": AMBER,
    "blocked": RED,
    "info": GREY,
    "warn": AMBER,
    "block": RED,
    # message statuses: delivered, on the way, failed, unknown
    "delivered": GREEN,
    "queued": AMBER,
    "submitted": AMBER,
    "sent": AMBER,
    "pending": AMBER,
    "undelivered": RED,
    "expired": RED,
    "rejected": RED,
    "failed": RED,
    "unknown": GREY,
    # failures: permanent ones are lost, temporary ones can be retried
    "permanent": RED,
    "temporary": AMBER,
    # sender types in the country brief
    "usable": GREEN,
    "not allowed": RED,
}
"""Colour of each status word; charts use it through `show`, which recolours traces and pie
slices by name. Anything else (countries, sender types, keywords…) is drawn from NEUTRAL, which
has no green, amber, red or grey, so no colour says "good" or "bad" by accident."""
NEUTRAL = [BLUE, "#7b4fa0", "#17877f", "#5c6bc0", "#a0522d", "#d16ba5", "#3f3f8f", "#4e9ac7"]

# Column names in words, for axis titles, legends, hover labels and table headers.
LABELS: dict[str, str] = {
    "region": "Country",
    "country": "Country",
    "recipients": "Recipients",
    "number_type": "Number type",
    "time_zone": "Time zone",
    "local_time": "Local time",
    "next_allowed_local": "Next allowed time (local)",
    "sender_type": "Sender type",
    "sender_id": "Sender",
    "total_converted": "Total cost",
    "total": "Total",
    "lead_time_weeks": "Weeks to get ready",
    "launch_in_weeks": "Weeks to launch",
    "monthly_volume": "Messages a month",
    "count": "Recipients",
    "stage": "Stage",
    "status": "Status",
    "messages": "Messages",
    "seconds": "Seconds",
    "percentile": "Percentile",
    "p50_s": "Median (s)",
    "p90_s": "90th percentile (s)",
    "p99_s": "99th percentile (s)",
    "max_s": "Slowest (s)",
    "period": "Time",
    "opt_outs": "Opt-outs",
    "replies": "Replies",
    "keyword": "Keyword",
    "intent": "Intent",
    "cumulative_opt_out_rate": "Opt-out rate so far",
    "cost_per_delivered": "Cost per delivered message",
    "currency": "Currency",
    "group": "Variant",
    "variant": "Variant",
    "operator": "Operator",
    "hour": "Hour (UTC)",
    "value": "Recipients",
    "variable": "Decision",
    "share_of_targeted": "Share of targeted",
    "share_of_previous": "Share of the stage before",
    "delivery_rate": "Delivery rate",
    "reply_rate": "Reply rate",
    "opt_out_rate": "Opt-out rate",
    "conversion_rate": "Conversion rate",
    "opt_out_rate_low": "Opt-out rate, low",
    "opt_out_rate_high": "Opt-out rate, high",
    "ci_low": "95 % interval, low",
    "ci_high": "95 % interval, high",
    "diff": "Difference to A",
    "diff_ci_low": "Difference, low",
    "diff_ci_high": "Difference, high",
    "p_value": "p-value",
    "trials": "Messages",
    "successes": "Successes",
    "rate": "Rate",
    "opted_out": "Opted out",
    "ready_by_launch": "Ready by launch",
    "known_total": "Known total",
    "total_status": "Total is",
    "per_message": "Per message",
    "recurring": "Recurring",
    "setup": "Setup",
    "allowed": "Allowed",
    "recommended": "Recommended",
    "reason": "Why",
    "permanent": "Permanent",
    "temporary": "Temporary",
    "unknown": "Unknown",
    "severity": "Severity",
    "rule": "Rule",
    "message": "Finding",
    "source": "Source",
    "percent": "Percent",
}


def words(name: Any) -> str:
    """A column name as people read it: `LABELS`, else underscores to spaces, first letter up.

    Example:
        >>> words("lead_time_weeks"), words("operator_name")
        ('Weeks to get ready', 'Operator name')
    """
    text = str(name)
    if text in LABELS:
        return LABELS[text]
    return (text[:1].upper() + text[1:]).replace("_", " ") if "_" in text or text.islower() else text
