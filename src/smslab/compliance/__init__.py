"""Compliance: campaign-level and recipient-level checks, fail closed.

Example:
    >>> from smslab.compliance import check
    >>> # skipped in the tests: reads the consent ledger of your database (after `make demo`)
    >>> result = check("data/samples/campaign.yaml", db="data/smslab.duckdb")  # doctest: +SKIP
    >>> result.blocking, result.summary()["recipients"]                        # doctest: +SKIP
"""

from smslab.compliance.engine import check, resolve_at
from smslab.compliance.result import CheckResult

__all__ = ["CheckResult", "check", "resolve_at"]
