"""The per-recipient reference implementation of the decision pass: slow, obvious, and the
yardstick `recipients.evaluate` is tested and benchmarked against (identical answers).

Example:
    >>> import pandas as pd
    >>> from datetime import datetime
    >>> from smslab.campaign import parse_spec
    >>> from smslab.rules import load
    >>> spec = parse_spec({"name": "x", "purpose": "marketing", "audience": "a.csv",
    ...     "senders": {"FR": {"type": "short_code", "id": "36180"}}, "message": {"text": "STOP au 36180"}})
    >>> row = {"msisdn": "+33612345678", "region": "FR", "valid": True, "time_zones": ["Europe/Paris"],
    ...        "consent_at": pd.Timestamp("2026-01-01")}
    >>> decide_rows(spec, pd.DataFrame([row]), load(), datetime(2026, 11, 24, 21, 0), [], {})[0][1:3]
    ('deferred', 'quiet_hours')
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from smslab.compliance import windows
from smslab.compliance.campaign_rules import Issue
from smslab.compliance.recipients import _valid_zone
from smslab.rules import RuleSet


def decide_rows(spec: Any, frame: pd.DataFrame, rs: RuleSet, at: datetime, issues: list[Issue],
                ledger: dict[tuple[str, str], str]) -> list[tuple[str, str, str | None, datetime | None]]:
    """(msisdn, decision, reason, next_allowed_at) per row; `ledger` maps (msisdn, scope) to the
    latest action."""
    out = []
    all_variants = len(spec.variant_names())
    for row in frame.itertuples(index=False):
        cc = row.region if isinstance(row.region, str) else ""
        country = rs.get(cc)
        sender = spec.sender_for(cc) if cc else None
        reason, nxt = None, None
        if not row.valid:
            reason = "invalid_number"
        elif country is None:
            reason = "no_rules"
        elif sender is None:
            reason = "no_sender"
        else:
            for issue in issues:
                if issue.blocks and issue.country == cc and (
                        issue.variants is None or len(issue.variants) == all_variants
                        or spec.variant_for(row.msisdn) in issue.variants):
                    reason = issue.rule
                    break
        if reason is None:
            scopes = {"*", sender.id, sender.brand, sender.opt_out_short_code} - {None}
            states = [ledger.get((row.msisdn, s)) for s in scopes]
            consented = pd.notna(row.consent_at) and pd.Timestamp(row.consent_at) <= pd.Timestamp(at)
            if "opt_out" in states:
                reason = "opted_out"
            elif (spec.purpose == "marketing" and country.consent.marketing != "not_required"
                  and not consented and "opt_in" not in states):
                reason = "no_consent"
            elif spec.purpose in country.quiet_hours.applies_to and country.quiet_hours.allowed is not None:
                zones = tuple(z for z in (row.time_zones if row.time_zones is not None else []) if _valid_zone(z)) \
                    or tuple(z for z in country.time_zones if _valid_zone(z))
                why = windows.why_not(country, zones, at)
                if why is not None:
                    nxt = windows.next_allowed(country, zones, at)
                    reason = "no_allowed_window" if nxt is None else (
                        "public_holiday" if why.startswith("public holiday") else "quiet_hours")
        decision = "allowed" if reason is None else ("deferred" if nxt is not None else "blocked")
        out.append((row.msisdn, decision, reason, nxt))
    return out
