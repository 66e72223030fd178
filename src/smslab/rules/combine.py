"""The ways claims combine into the most restrictive value (the right-hand column of the
fact table in docs/rules-format.md). Each takes the claimed values, never an empty list.

Example:
    >>> any_false([True, False, True]), any_true([False, False]), longest([2, 3.5]), shortest([10, 2])
    (False, False, 3.5, 2)
    >>> intersect_windows([{"mon": ["07:00-21:00"]}, {"mon": ["08:00-22:00"]}], days=("mon",))
    {'mon': ['08:00-21:00']}
    >>> strictest(["express", "double_opt_in", "opt_out_ok"],
    ...           ("double_opt_in", "express_written", "express", "opt_out_ok"))
    'double_opt_in'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from smslab.rules.facts import DAYS, window_minutes

DAY_MINUTES = 24 * 60
Intervals = list[tuple[int, int]]


def any_false(values: Sequence[bool]) -> bool:
    """Permissions (available, marketing, two_way, sender_kept…): one `false` is enough to forbid."""
    return all(values)


def any_true(values: Sequence[bool]) -> bool:
    """Obligations (registration, alphanumeric_needs_short_code…): one `true` is enough to require."""
    return any(values)


def longest(values: Sequence[float]) -> float:
    return max(values)


def shortest(values: Sequence[float]) -> float:
    return min(values)


def strictest(values: Sequence[str], order: Sequence[str]) -> str:
    """The value that comes first in `order` (strictest first)."""
    return min(values, key=order.index)


def winner(values: Sequence[str], wins: str) -> str:
    """`wins` if any claim says it (holidays `excluded`, consent `required`), else the common value."""
    return wins if wins in values else values[0]


def united(lists: Iterable[Iterable[Any]], order: Sequence[Any] | None = None) -> list[Any]:
    """Every item of every list once: in `order` when given, else first seen first."""
    seen: list[Any] = []
    for items in lists:
        for item in items:
            if item not in seen:
                seen.append(item)
    return [x for x in order if x in seen] if order is not None else seen


def united_words(lists: Iterable[Iterable[str]]) -> list[str]:
    """Keywords united, case-insensitively (the first spelling kept)."""
    out: dict[str, str] = {}
    for items in lists:
        for word in items:
            out.setdefault(word.casefold(), word)
    return list(out.values())


def _normal(windows: Iterable[str]) -> Intervals:
    spans = sorted(window_minutes(w) for w in windows)
    merged: Intervals = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def intersect_windows(
    claims: Sequence[dict[str, list[str]]], days: Sequence[str] = DAYS, excluded: Iterable[str] = ()
) -> dict[str, list[str]]:
    """Day by day, the minutes every claim allows; `excluded` days get no window at all."""
    out: dict[str, list[str]] = {}
    excluded = set(excluded)
    for day in days:
        spans: Intervals = [(0, DAY_MINUTES)]
        for claim in claims:
            spans = _intersect(spans, _normal(claim.get(day, [])))
        if day in excluded:
            spans = []
        out[day] = [f"{_hhmm(s)}-{_hhmm(e)}" for s, e in spans]
    return out


def unrestricted(windows: dict[str, list[str]]) -> bool:
    """Whether a window claim allows every minute of every day ("no quiet hours").

    Example:
        >>> unrestricted({d: ["00:00-24:00"] for d in DAYS}), unrestricted({d: ["08:00-20:00"] for d in DAYS})
        (True, False)
    """
    return all(_normal(windows.get(day) or []) == [(0, 24 * 60)] for day in DAYS)


def minutes_allowed(windows: dict[str, list[str]], day: str, minute: int) -> bool:
    """Whether minute `minute` (0-1439) of `day` is inside the windows (used by the tests)."""
    return any(s <= minute < e for s, e in _normal(windows.get(day, [])))
