"""SQL text for the few places where a value cannot be a `?` parameter (ATTACH paths, DDL,
column names, IN lists fixed at import time): one way to quote, used everywhere.

Example:
    >>> print(literal("O'Brien"), ident('a"b'), values(["failed", "delivered"]))
    'O''Brien' "a""b" 'delivered', 'failed'
"""

from __future__ import annotations

import os
from collections.abc import Iterable


def literal(value: str | os.PathLike[str]) -> str:
    """A single-quoted SQL string literal (quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A double-quoted SQL identifier (quotes doubled): any column name, even a reserved word."""
    return '"' + str(name).replace('"', '""') + '"'


def values(items: Iterable[str]) -> str:
    """Comma-separated string literals for an `IN (…)` list, sorted so the text is stable."""
    return ", ".join(literal(item) for item in sorted(items))
