"""The one clock: now in UTC without tzinfo, how the store keeps every timestamp.

Everything that needs "now" calls `utcnow()` (or takes a `now=` argument that defaults to
it), so tests and replays fix the clock in one way.

Example:
    >>> utcnow().tzinfo is None
    True
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo (how the store keeps time)."""
    return datetime.now(UTC).replace(tzinfo=None)
