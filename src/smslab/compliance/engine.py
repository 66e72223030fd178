"""`check()`: the compliance pre-flight of a campaign, fail closed.

Example:
    >>> from smslab.compliance import check
    >>> result = check("data/samples/campaign.yaml", at="2026-12-01T15:00:00+01:00")
    >>> result.summary()["recipients"]
    {'total': 300, 'allowed': 259, 'deferred': 27, 'blocked': 14}
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from smslab import store
from smslab.campaign import CampaignSpec, load_spec
from smslab.clock import utcnow
from smslab.compliance.campaign_rules import Issue, campaign_issues
from smslab.compliance.recipients import CAMPAIGN_REASONS, evaluate
from smslab.compliance.result import SEVERITY_ORDER, CheckResult, write
from smslab.errors import InputError
from smslab.rules import RuleSet
from smslab.rules import load as load_rules

# reason -> (severity, rules group for the source, plain-language template)
RECIPIENT_REASONS: dict[str, tuple[str, str | None, str]] = {
    "invalid_number": ("warn", None, "{n} recipient(s) in {cc} have a number that is not valid; blocked"),
    "no_rules": (
        "warn",
        None,
        "{cc} is not in the rules dataset; its {n} recipient(s) are blocked (fail closed; "
        "add the country in a rules override)",
    ),
    "no_sender": ("warn", None, "no sender for {cc} in the spec (and no '*' fallback); {n} recipient(s) blocked"),
    "opted_out": ("warn", "consent", "{n} recipient(s) in {cc} opted out (sender, brand or all); blocked"),
    "no_consent": ("warn", "consent", "{n} recipient(s) in {cc} have no recorded consent for marketing; blocked"),
    "no_allowed_window": (
        "warn",
        "quiet_hours",
        "{n} recipient(s) in {cc} have no allowed send time in the next three weeks; blocked",
    ),
    "quiet_hours": (
        "info",
        "quiet_hours",
        "{n} recipient(s) in {cc} are in quiet hours ({why}); deferred, the first at {next} UTC",
    ),
    "public_holiday": ("info", "quiet_hours", "{n} recipient(s) in {cc}: {why}; deferred, the first at {next} UTC"),
    "frequency_cap": (
        "info",
        "caps",
        "{n} recipient(s) in {cc} reached the frequency cap ({why}); deferred, the first at {next} UTC",
    ),
}
# which penalty category each stopping reason avoids
EXPOSURE_CATEGORY = {
    "no_consent": "consent",
    "opted_out": "opt_out",
    "quiet_hours": "quiet_hours",
    "public_holiday": "quiet_hours",
    "no_allowed_window": "quiet_hours",
    "content_banned": "content",
    "sender_type_not_allowed": "sender",
    "frequency_cap": "quiet_hours",
    "required_element_missing": "content",
    "sender_id_format": "sender",
    "alphanumeric_two_way": "sender",
    "opt_out_wording_missing": "opt_out",
    "opt_out_short_code_missing": "opt_out",
}


def resolve_at(at: str | datetime | None, spec: CampaignSpec, now: datetime) -> datetime:
    """The moment to evaluate (UTC, naive): `at`, else a future send_at, else now."""
    if at is None:
        send_at = spec.send_at_utc
        return send_at if send_at is not None and send_at > now else now
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"--at {at!r}: expected an ISO 8601 moment such as 2026-11-27T10:00:00+01:00") from None
    if isinstance(at, pd.Timestamp):
        at = at.to_pydatetime()
    assert isinstance(at, datetime)  # a str was parsed above
    if at.tzinfo is None:
        raise InputError(f"--at {at.isoformat()}: needs a UTC offset, e.g. {at.isoformat()}+01:00 or Z")
    return at.astimezone(UTC).replace(tzinfo=None)


def _ruleset(spec: CampaignSpec, ruleset: RuleSet | None) -> RuleSet:
    if ruleset is not None:
        return ruleset
    override = None
    if spec.rules:
        path = Path(spec.rules)
        override = str(path if path.is_absolute() else spec.base_dir / path)
    return load_rules(override)


def _exposure(decisions: pd.DataFrame, rs: RuleSet) -> list[dict[str, Any]]:
    stopped = decisions[decisions["decision"] != "allowed"]
    out: list[dict[str, Any]] = []
    if stopped.empty:
        return out
    counts = stopped.groupby(["region", "reason"], observed=True).size()
    for cc in sorted(set(counts.index.get_level_values(0))):
        country = rs.get(cc)
        per = country.penalties.per_message if country is not None else None
        if country is None or per is None:
            continue
        messages = sum(
            int(v) for (r, reason), v in counts.items() if r == cc and EXPOSURE_CATEGORY.get(reason) in per.applies_to
        )
        if messages:
            out.append(
                {
                    "country": cc,
                    "messages": messages,
                    "min": messages * per.min,
                    "max": messages * per.max,
                    "currency": per.currency,
                    "basis": per.basis,
                    "source": country.group_source_url("penalties"),
                }
            )
    return out


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def _findings(
    issues: list[Issue],
    decisions: pd.DataFrame,
    details: dict[str, dict],
    rs: RuleSet,
    exposure: list[dict],
    quarantined: int,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    by_reason = (
        decisions.groupby(["reason", "region"], observed=True, dropna=False).size()
        if len(decisions)
        else pd.Series(dtype=int)
    )
    for issue, affected in zip(issues, details["issue_recipients"], strict=False):
        out.append(
            {
                "rule": issue.rule,
                "severity": issue.severity,
                "country": issue.country,
                "recipients": int(affected),
                "message": issue.message,
                "source": issue.source,
            }
        )
    for (reason, cc), n in by_reason.items():
        if reason in CAMPAIGN_REASONS or reason not in RECIPIENT_REASONS:
            continue
        cc = cc if isinstance(cc, str) and cc else None
        severity, group, template = RECIPIENT_REASONS[reason]
        country = rs.get(cc)
        detail = details.get(f"{reason}|{cc}", {})
        nxt = detail.get("next_min")
        if reason == "no_rules" and cc is None:
            template = "{n} recipient(s) whose country could not be determined are blocked (fail closed)"
        out.append(
            {
                "rule": reason,
                "severity": severity,
                "country": cc,
                "recipients": int(n),
                "message": template.format(
                    n=int(n),
                    cc=cc or "an unknown country",
                    why=detail.get("why", ""),
                    next=nxt.strftime("%Y-%m-%d %H:%M") if nxt else "",
                ),
                "source": country.group_source_url(group) if country is not None and group else None,
            }
        )
    if details.get("caps_not_checked"):
        out.append(
            {
                "rule": "frequency_cap_not_checked",
                "severity": "warn",
                "country": None,
                "recipients": details["caps_not_checked"],
                "message": f"{details['caps_not_checked']} recipient(s) are in countries or states with frequency "
                "caps, which are counted against the messages in the database; no database was given, "
                "so the caps were not checked (pass db= or --db)",
                "source": None,
            }
        )
    if quarantined:
        out.append(
            {
                "rule": "audience_quarantined",
                "severity": "warn",
                "country": None,
                "recipients": quarantined,
                "message": f"{quarantined} audience row(s) could not be used (invalid number or date) and were "
                f"quarantined; they are not sent",
                "source": None,
            }
        )
    for e in exposure:
        out.append(
            {
                "rule": "fine_exposure",
                "severity": "info",
                "country": e["country"],
                "recipients": e["messages"],
                "message": f"{e['country']}: the check stopped or deferred {e['messages']} message(s) "
                "that could have carried "
                f"{_money(e['min'], e['currency'])}"
                + (f" to {_money(e['max'], e['currency'])}" if e["max"] != e["min"] else "")
                + f" of exposure ({e['basis']})",
                "source": e["source"],
            }
        )
    out.sort(key=lambda f: (SEVERITY_ORDER[f["severity"]], f["country"] or "", f["rule"]))
    return out


def _gate_findings(
    spec: CampaignSpec, decisions: pd.DataFrame, now: datetime, continuing: bool
) -> list[dict[str, Any]]:
    """Block findings for a campaign that cannot go as written: a send_at in the past (unless the
    campaign is already under way), or nobody who would be sent or deferred (an empty audience,
    all invalid, all blocked)."""
    out = []
    problem = spec.send_at_problem(now)
    if problem and not continuing:
        out.append(
            {
                "rule": "send_at_past",
                "severity": "block",
                "country": None,
                "recipients": int(len(decisions)),
                "message": f"{spec.source}: {problem}",
                "source": None,
            }
        )
    reachable = int(decisions["decision"].isin(["allowed", "deferred"]).sum()) if len(decisions) else 0
    if reachable == 0:
        why = (
            f"the audience {spec.audience_path.name} has no usable recipient"
            if len(decisions) == 0
            else f"all {len(decisions)} recipient(s) are blocked (see the findings above)"
        )
        out.append(
            {
                "rule": "nothing_to_send",
                "severity": "block",
                "country": None,
                "recipients": int(len(decisions)),
                "message": f"nothing to send: {why}",
                "source": None,
            }
        )
    return out


def check(
    spec: str | os.PathLike[str] | CampaignSpec,
    *,
    at: str | datetime | None = None,
    db: str | os.PathLike[str] | None = None,
    con: Any = None,
    audience: Any = None,
    ruleset: RuleSet | None = None,
    now: datetime | None = None,
    continuing: bool | None = None,
) -> CheckResult:
    """Check a campaign against the country rules; write findings and decisions when a database is given.

    `audience` (optional) is an already-loaded `smslab.audience.load(...)` result or its frame;
    `now` (UTC, naive) replaces the clock (tests, replays); `continuing` says the campaign is
    already under way (default: it has messages in the database), so a past send_at is expected.
    """
    spec = load_spec(spec)
    now = now or utcnow()
    evaluated_at = resolve_at(at, spec, now)
    rs = _ruleset(spec, ruleset).at(evaluated_at)  # the rules in force on that day
    own = None
    if audience is None and con is None and db is not None and not str(spec.audience_path).startswith("duckdb:"):
        # read the audience before opening the database: a bad audience file creates no database
        from smslab import audience as audience_mod

        audience = audience_mod.load(spec.audience_path, default_region=spec.default_region)
        if audience.summary["rows"] == 0:
            raise InputError(
                f"{spec.audience_path}: no recipients (a header and no rows); add one phone "
                f"number per line under the header, or point 'audience' in {spec.source} elsewhere"
            )
        if audience.quarantined:
            con = own = store.connect(db)
            store.quarantine(con, audience.quarantined)
    if con is None and db is not None:
        import duckdb

        try:
            con = own = store.connect(db)
        except duckdb.Error as exc:
            raise InputError(f"{db}: cannot open the database ({str(exc).splitlines()[0]})") from None
    try:
        quarantined = 0
        if audience is None:
            from smslab import audience as audience_mod

            audience = audience_mod.load(spec.audience_path, default_region=spec.default_region, con=con)
            if audience.summary["rows"] == 0:
                raise InputError(
                    f"{spec.audience_path}: no recipients (a header and no rows); add one phone "
                    f"number per line under the header, or point 'audience' in {spec.source} elsewhere"
                )
        if isinstance(audience, pd.DataFrame):  # a bare frame: make sure there is one row per number
            frame = audience
            if len(frame) and frame["msisdn"].duplicated().any():
                frame = frame.drop_duplicates("msisdn").reset_index(drop=True)
        else:  # smslab.audience.load() already collapsed duplicates
            frame = audience.frame
            quarantined = len(getattr(audience, "quarantined", []) or [])
        regions = sorted({str(r) for r in frame["region"].dropna().unique()}) if len(frame) else []
        issues = campaign_issues(spec, regions, ruleset=rs, at=evaluated_at, now=now)
        decisions, details = evaluate(spec, frame, rs, evaluated_at, issues, con=con)
        exposure = _exposure(decisions, rs)
        findings = _findings(issues, decisions, details, rs, exposure, quarantined)
        if continuing is None:
            continuing = con is not None and store.campaign_started(con, spec.campaign_id)
        findings = _gate_findings(spec, decisions, now, continuing) + findings
        if con is None:
            findings.append(
                {
                    "rule": "consent_ledger_not_checked",
                    "severity": "info",
                    "country": None,
                    "recipients": 0,
                    "message": "no database given, so opt-outs recorded in the consent "
                    "ledger were not checked (pass db= or con=)",
                    "source": None,
                }
            )
        result = CheckResult(
            findings=findings,
            decisions=decisions,
            audience=frame,
            evaluated_at=evaluated_at,
            exposure=exposure,
            campaign_id=spec.campaign_id,
        )
        if con is not None:
            write(con, result)
        return result
    finally:
        if own is not None:
            own.close()
