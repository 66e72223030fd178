"""Notebook parameters checked in the cell after the parameters cell (papermill only warns).

Example:
    >>> check_parameters(months=(3, "positive"))
"""

from __future__ import annotations

from typing import Any

from smslab.errors import InputError


def check_parameters(**checks: tuple[Any, Any]) -> None:
    """Validate notebook parameters (papermill only warns about unknown names): each keyword is
    `name=(value, allowed)` where allowed is a list of values, "positive" or "non-negative".

    Example:
        >>> check_parameters(freq=("hour", ["hour", "day"]), months=(3, "positive"))
        >>> check_parameters(freq=("week", ["hour", "day"]))
        Traceback (most recent call last):
        smslab.errors.InputError: parameter freq: expected one of hour, day, got 'week'
    """
    for name, (value, allowed) in checks.items():
        if isinstance(allowed, (list, tuple)):
            if value not in allowed:
                raise InputError(f"parameter {name}: expected one of {', '.join(map(str, allowed))}, got {value!r}")
        elif allowed in ("positive", "non-negative"):
            ok = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and (value > 0 if allowed == "positive" else value >= 0)
            )
            if not ok:
                raise InputError(f"parameter {name}: expected a {allowed} number, got {value!r}")


def resolve_campaign(con: Any, campaign_id: str | None = None) -> str:
    """`campaign_id` if the database has it, the most recent campaign when it is empty;
    InputError otherwise, naming the campaigns there are."""
    rows = [r[0] for r in con.execute("SELECT campaign_id FROM campaigns ORDER BY created_at DESC").fetchall()]
    if not rows:
        raise InputError("the database has no campaign yet: run `smslab demo` or `smslab send SPEC` first")
    if not campaign_id:
        return rows[0]
    if campaign_id not in rows:
        shown = ", ".join(rows[:10]) + (" …" if len(rows) > 10 else "")
        raise InputError(f"no campaign {campaign_id!r} in the database; it has: {shown}")
    return campaign_id
