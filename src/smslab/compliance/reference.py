"""The per-recipient reference implementation of the decision pass: slow, obvious, and the
yardstick `recipients.evaluate` is tested and benchmarked against (identical answers).

Quiet hours and holidays are decided here on their own, without `compliance.windows`: the
local clock is read minute by minute and public holidays come straight from the `holidays`
package, so a mistake in the engine's window search shows up as a disagreement.

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

import warnings
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import pandas as pd

from smslab import identity
from smslab.compliance.campaign_rules import Issue
from smslab.compliance.recipients import _valid_zone
from smslab.rules import RuleSet, placement
from smslab.rules.defaults import DEFAULT_HOLIDAYS, DEFAULT_WINDOW

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HORIZON = timedelta(days=21)
_STEP = timedelta(minutes=5)


@lru_cache(maxsize=4096)
def _is_holiday(cc: str, day: date) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return day in holidays_lib.country_holidays(cc, years=day.year)
        except (NotImplementedError, KeyError, ValueError):
            return False


def _open_at(country: Any, zones: tuple[str, ...], moment: datetime) -> tuple[bool, bool]:
    """(allowed in every zone, the first zone that is not is closed by a holiday)."""
    qh = country.quiet_hours
    excluded = set(getattr(qh, "excluded_days", None) or ())
    table = (
        qh.allowed
        if qh.allowed is not None
        else {day: ([] if day in excluded else spans) for day, spans in DEFAULT_WINDOW.items()}
    )
    skip_holidays = (qh.holidays or DEFAULT_HOLIDAYS) == "excluded"
    for zone in zones:
        local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
        if skip_holidays and _is_holiday(country.country, local.date()):
            return False, True
        minute = local.hour * 60 + local.minute
        spans = [w.split("-") for w in table[_DAY_NAMES[local.weekday()]]]
        if not any(int(a[:2]) * 60 + int(a[3:]) <= minute < int(b[:2]) * 60 + int(b[3:]) for a, b in spans):
            return False, False
    return True, False


def _quiet(
    country: Any, zones: tuple[str, ...], at: datetime, cache: dict[tuple, tuple[str | None, datetime | None]]
) -> tuple[str | None, datetime | None]:
    """(reason or None, next allowed moment) by walking the clock: 5-minute steps, then back minute by minute."""
    key = (country.country, getattr(country, "sub", ""), zones, at)
    if key not in cache:
        cache[key] = _walk(country, zones, at)
    return cache[key]


def _walk(country: Any, zones: tuple[str, ...], at: datetime) -> tuple[str | None, datetime | None]:
    ok, holiday = _open_at(country, zones, at)
    if ok:
        return None, None
    reason = "public_holiday" if holiday else "quiet_hours"
    start = at.replace(second=0, microsecond=0)
    t = start + _STEP
    while t <= at + _HORIZON:
        if _open_at(country, zones, t)[0]:
            while t - timedelta(minutes=1) > at and _open_at(country, zones, t - timedelta(minutes=1))[0]:
                t -= timedelta(minutes=1)
            return reason, t
        t += _STEP
    return "no_allowed_window", None


def decide_rows(
    spec: Any, frame: pd.DataFrame, rs: RuleSet, at: datetime, issues: list[Issue], ledger: dict[tuple[str, str], str]
) -> list[tuple[str, str, str | None, datetime | None]]:
    """(msisdn, decision, reason, next_allowed_at) per row; `ledger` maps (msisdn, scope) to the
    latest action."""
    out = []
    cache: dict[tuple, tuple[str | None, datetime | None]] = {}
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
                if (
                    issue.blocks
                    and issue.country == cc
                    and (
                        issue.variants is None
                        or len(issue.variants) == all_variants
                        or spec.variant_for(row.msisdn) in issue.variants
                    )
                ):
                    reason = issue.rule
                    break
        if reason is None:
            assert country is not None and sender is not None  # else a reason was set above
            scopes = {"*"} | {identity.key(x) for x in (sender.id, sender.brand, sender.opt_out_short_code) if x}
            states = [ledger.get((row.msisdn, s)) for s in scopes]
            consented = pd.notna(row.consent_at) and pd.Timestamp(row.consent_at) <= pd.Timestamp(at)
            if "opt_out" in states:
                reason = "opted_out"
            elif (
                spec.purpose == "marketing"
                and country.consent.marketing != "not_required"
                and not consented
                and "opt_in" not in states
            ):
                reason = "no_consent"
            elif spec.purpose in country.quiet_hours.applies_to:
                zones = tuple(
                    z for z in (row.time_zones if row.time_zones is not None else []) if _valid_zone(z)
                ) or tuple(z for z in country.time_zones if _valid_zone(z))
                sub = placement.subdivision_for_number(row.msisdn)
                rules: Any = country
                if sub is not None and sub in (getattr(country, "subdivisions", None) or {}):  # a state's own window
                    rules = SimpleNamespace(country=cc, sub=sub, quiet_hours=country.subdivisions[sub].quiet_hours)
                reason, nxt = _quiet(rules, zones, at, cache)
        decision = "allowed" if reason is None else ("deferred" if nxt is not None else "blocked")
        out.append((row.msisdn, decision, reason, nxt))
    return out
