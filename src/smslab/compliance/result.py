"""What a compliance check returns, and how it is stored.

Example:
    >>> r = CheckResult(findings=[], decisions=empty_decisions(), audience=None, evaluated_at=None)
    >>> r.summary()
    {'blocking': False, 'recipients': {'total': 0, 'allowed': 0, 'deferred': 0, 'blocked': 0}, 'findings': []}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

SEVERITY_ORDER = {"block": 0, "warn": 1, "info": 2}
DECISION_COLUMNS = ["msisdn", "region", "decision", "reason", "next_allowed_at"]


def empty_decisions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "msisdn": pd.Series([], dtype=object),
            "region": pd.Series([], dtype=object),
            "decision": pd.Series([], dtype=object),
            "reason": pd.Series([], dtype=object),
            "next_allowed_at": pd.Series([], dtype="datetime64[us]"),
        }
    )


@dataclass(frozen=True)
class Issue:
    """A campaign-level finding for one country; `variants` None = every recipient there."""

    rule: str
    severity: str
    country: str | None
    message: str
    source: str | None
    variants: tuple[str, ...] | None = None

    @property
    def blocks(self) -> bool:
        return self.severity == "block"


@dataclass
class CheckResult:
    """Findings (dicts: rule, severity, country, recipients, message, source), one decision per
    recipient (allowed / deferred / blocked, reason, next_allowed_at in UTC), the audience frame,
    the moment evaluated (UTC, naive) and the fine exposure the check avoided."""

    findings: list[dict[str, Any]]
    decisions: pd.DataFrame
    audience: pd.DataFrame | None
    evaluated_at: datetime | None
    exposure: list[dict[str, Any]] = field(default_factory=list)
    campaign_id: str | None = None

    @property
    def blocking(self) -> bool:
        return any(f["severity"] == "block" for f in self.findings)

    def counts(self) -> dict[str, int]:
        values = self.decisions["decision"].value_counts() if len(self.decisions) else {}
        return {
            "total": int(len(self.decisions)),
            **{k: int(values.get(k, 0)) for k in ("allowed", "deferred", "blocked")},
        }

    def summary(self) -> dict[str, Any]:
        """The DESIGN.md JSON shape of `smslab check --json`."""
        return {
            "blocking": self.blocking,
            "recipients": self.counts(),
            "findings": [
                {k: f[k] for k in ("rule", "severity", "country", "recipients", "message", "source")}
                for f in self.findings
            ],
        }

    def allowed(self) -> pd.DataFrame:
        return self.decisions[self.decisions["decision"] == "allowed"]

    def deferred(self) -> pd.DataFrame:
        return self.decisions[self.decisions["decision"] == "deferred"]

    def blocked(self) -> pd.DataFrame:
        return self.decisions[self.decisions["decision"] == "blocked"]


def write(con: Any, result: CheckResult) -> None:
    """Replace this campaign's rows in `findings` and `recipient_checks` (one transaction)."""
    cid = result.campaign_id
    findings = pd.DataFrame(
        [
            {
                "campaign_id": cid,
                "rule": f["rule"],
                "severity": f["severity"],
                "region": f["country"],
                "recipients": int(f["recipients"]),
                "message": f["message"],
                "source_url": f["source"],
            }
            for f in result.findings
        ],
        columns=["campaign_id", "rule", "severity", "region", "recipients", "message", "source_url"],
    )
    d = result.decisions
    checks = pd.DataFrame(
        {
            "msisdn": d["msisdn"].array,
            "decision": d["decision"].array,
            "reason": d["reason"].array,
            "next_allowed_at": d["next_allowed_at"].array,
        }
    )
    checked_at = pd.Timestamp(result.evaluated_at) if result.evaluated_at else None

    def run(sql: str, params: list | None = None) -> None:
        con.execute(sql, params or []).fetchall()

    run("BEGIN TRANSACTION")
    try:
        run("DELETE FROM findings WHERE campaign_id = ?", [cid])
        if len(findings):
            con.register("_smslab_findings", findings)
            run(
                "INSERT INTO findings SELECT campaign_id, rule, severity, region, recipients, message, "
                "source_url FROM _smslab_findings"
            )
            con.unregister("_smslab_findings")
        con.register("_smslab_checks", checks)
        run("DELETE FROM recipient_checks WHERE campaign_id = ?", [cid])
        run(
            "INSERT INTO recipient_checks SELECT ?, msisdn, decision::VARCHAR, reason::VARCHAR, "
            "next_allowed_at, ? FROM _smslab_checks",
            [cid, checked_at],
        )
        con.unregister("_smslab_checks")
        run("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
