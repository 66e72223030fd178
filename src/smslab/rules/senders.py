"""Which sender types a country allows, and how long they take to get: fail closed.

Example:
    >>> from smslab.rules import sender_allowed
    >>> sender_allowed("IN", "long_code", purpose="marketing", two_way=False)[0]
    False
"""

from __future__ import annotations

from smslab.rules.loader import RuleSet, load
from smslab.rules.schema import PURPOSES, SENDER_TYPES


def sender_allowed(
    cc: str, sender_type: str, *, purpose: str, two_way: bool, ruleset: RuleSet | None = None
) -> tuple[bool, str]:
    """Whether `sender_type` may carry `purpose` (two-way or not) to `cc`, and why.

    Anything unknown (country, sender type, a null fact) answers `(False, reason)`.
    An alphanumeric sender can never receive replies, whatever the data says.
    """
    rs = ruleset if ruleset is not None else load()
    if sender_type not in SENDER_TYPES:
        return False, f"unknown sender type {sender_type!r} (expected one of {', '.join(SENDER_TYPES)})"
    if purpose not in PURPOSES:
        return False, f"unknown purpose {purpose!r} (expected marketing or transactional)"
    country = rs.get(cc)
    if country is None:
        return False, f"no rules for country {cc!r}: not allowed until the dataset covers it"
    rules = country.senders[sender_type]
    label = f"{country.country} {sender_type.replace('_', ' ')}"
    if rules.available is None:
        return False, f"{label}: availability unknown, treated as not available"
    if not rules.available:
        return False, f"{label}: not available" + (f" ({rules.notes})" if rules.notes else "")
    allowed_for = getattr(rules, purpose)
    if allowed_for is None:
        return False, f"{label}: unknown whether {purpose} is allowed, treated as not allowed"
    if not allowed_for:
        return False, f"{label}: not allowed for {purpose}" + (f" ({rules.notes})" if rules.notes else "")
    if two_way:
        if sender_type == "alphanumeric":
            return False, f"{label}: an alphanumeric sender cannot receive replies (two-way)"
        if rules.two_way is None:
            return False, f"{label}: unknown whether replies are possible, treated as one-way"
        if not rules.two_way:
            return False, f"{label}: cannot receive replies (two-way)"
    reg = ""
    if rules.registration:
        weeks = f", about {rules.lead_time_weeks:g} weeks" if rules.lead_time_weeks is not None else ""
        reg = f"; registration required{weeks}"
    return True, f"{label}: allowed for {purpose}{' two-way' if two_way else ''}{reg}"


def lead_time_weeks(cc: str, sender_type: str, ruleset: RuleSet | None = None) -> float | None:
    """Provisioning lead time in weeks (the longest the sources give), None if unknown.

    Example:
        >>> lead_time_weeks("US", "short_code")
        10.0
    """
    rs = ruleset if ruleset is not None else load()
    country = rs.get(cc)
    if country is None or sender_type not in SENDER_TYPES:
        return None
    rules = country.senders[sender_type]
    if rules.available is False:
        return None
    return rules.lead_time_weeks
