"""The DuckDB store: one file, a `schema_version` table and forward migrations.

Every table of the data model lives here (see docs/data-model.md). Timestamps are UTC
(`TIMESTAMP` without zone). Tables that receive the same input more than once carry a
deterministic key (`event_id`, `consent_id`, `quarantine_id`) so that loads are idempotent.

Example:
    >>> from smslab import store
    >>> con = store.connect(":memory:")
    >>> store.current_version(con) == len(store.MIGRATIONS)
    True
"""

from __future__ import annotations

from smslab.store.connection import DEFAULT_WAIT, connect, lock_holder, snapshot, using, wait_seconds, wait_until_free
from smslab.store.migrations import MIGRATIONS, canonical_identities, current_version, migrate
from smslab.store.quarantine import TABLES, quarantine, resolve_quarantine
from smslab.store.queries import campaign_started, scalar

__all__ = [
    "connect",
    "using",
    "snapshot",
    "wait_until_free",
    "wait_seconds",
    "lock_holder",
    "DEFAULT_WAIT",
    "migrate",
    "current_version",
    "canonical_identities",
    "MIGRATIONS",
    "scalar",
    "campaign_started",
    "quarantine",
    "resolve_quarantine",
    "TABLES",
]
