"""Small query helpers shared by every module that reads the store.

Example:
    >>> import duckdb
    >>> scalar(duckdb.connect(), "SELECT 40 + 2")
    42
"""

from __future__ import annotations

import duckdb


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The single value a query returns, with the result fully consumed.

    DuckDB 2 refuses `register()` while an earlier result is only partly fetched, so never
    leave a `fetchone()` dangling on a shared connection.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def campaign_started(con: duckdb.DuckDBPyConnection, campaign_id: str) -> bool:
    """Whether `campaign_id` already has messages in the database (a later run of a campaign)."""
    try:
        return bool(scalar(con, "SELECT count(*) FROM messages WHERE campaign_id = ?", [campaign_id]))
    except duckdb.CatalogException:
        return False
