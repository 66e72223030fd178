"""The conservative defaults that replace an unknown rule (unknown never means allowed).

Stated once here and in docs/rules.md ("What unknown does"). A rules override that gives the
country's own value replaces the default.

Example:
    >>> DEFAULT_WINDOW["sat"], DEFAULT_WINDOW["mon"]
    ([], ['09:00-20:00'])
    >>> DEFAULT_HOLIDAYS
    'excluded'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: an unknown marketing window: Monday–Friday 09:00–20:00 local time, none on weekends
DEFAULT_WINDOW: dict[str, list[str]] = {
    "mon": ["09:00-20:00"],
    "tue": ["09:00-20:00"],
    "wed": ["09:00-20:00"],
    "thu": ["09:00-20:00"],
    "fri": ["09:00-20:00"],
    "sat": [],
    "sun": [],
}
#: an unknown public-holiday rule: no marketing on public holidays
DEFAULT_HOLIDAYS = "excluded"
#: an unknown consent rule: consent required
DEFAULT_CONSENT = "required"

OVERRIDE_HINT = (
    "give the country's rule in a rules override (spec `rules:` or SMSLAB_RULES; "
    'see docs/rules.md, "Overriding the rules")'
)


@dataclass(frozen=True)
class QuietHoursInForce:
    """The quiet-hour rule the engine applies: the dataset's where known, the default where not.

    `assumed` names what was defaulted: 'window' and/or 'holidays'.
    """

    allowed: dict[str, list[str]]
    holidays_excluded: bool
    assumed: tuple[str, ...]


def quiet_hours_in_force(country: Any) -> QuietHoursInForce:
    """The windows and holiday rule to apply for `country` (a `rules.Country`).

    Example:
        >>> from smslab.rules import load
        >>> qh = quiet_hours_in_force(load().country("ES"))
        >>> qh.assumed, qh.allowed["sun"], qh.holidays_excluded
        ((), [], True)
    """
    qh = country.quiet_hours
    assumed = []
    allowed = qh.allowed
    if allowed is None:  # the default, less any day a source excludes (e.g. Fridays)
        excluded = set(getattr(qh, "excluded_days", None) or ())
        allowed = {day: ([] if day in excluded else spans) for day, spans in DEFAULT_WINDOW.items()}
        assumed.append("window")
    holidays = qh.holidays
    if holidays is None:
        holidays = DEFAULT_HOLIDAYS
        assumed.append("holidays")
    return QuietHoursInForce(allowed, holidays == "excluded", tuple(assumed))


def describe_window(allowed: Mapping[Any, list[str]]) -> str:
    """Windows in words, days with the same windows grouped.

    Example:
        >>> describe_window(DEFAULT_WINDOW)
        'Mon-Fri 09:00-20:00; none on Sat, Sun'
    """
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    runs: list[tuple[str, str, tuple[str, ...]]] = []
    for day in days:
        spans = tuple(allowed.get(day) or ())
        if runs and runs[-1][2] == spans:
            runs[-1] = (runs[-1][0], day, spans)
        else:
            runs.append((day, day, spans))
    parts = [f"{a.title()}{'-' + b.title() if a != b else ''} {', '.join(spans)}" for a, b, spans in runs if spans]
    closed = [day.title() for day in days if not allowed.get(day)]
    if closed:
        parts.append("none on " + ", ".join(closed))
    return "; ".join(parts)
