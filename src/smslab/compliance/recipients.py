"""The recipient-level pass, vectorised over the whole audience.

Per recipient, in order (the first that applies is the reason): invalid number, country not in
the dataset, no sender, a campaign-level block for the country (or the recipient's variant),
opted out in the consent ledger (sender id, brand, opt-out short code or '*'), no consent for
marketing, then quiet hours (deferred with the next allowed time). Quiet hours are computed
once per distinct (country, time zones) group, never per row.

Example:
    >>> import pandas as pd
    >>> from smslab.compliance.recipients import zone_keys
    >>> zone_keys(pd.Series([["Europe/Paris"], [], None])).tolist()
    ['Europe/Paris', '', '']
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from smslab.compliance import windows
from smslab.compliance.campaign_rules import Issue
from smslab.rules import RuleSet

CAMPAIGN_REASONS = ("sender_type_not_allowed", "alphanumeric_two_way", "opt_out_short_code_missing",
                    "opt_out_wording_missing", "content_banned")


@lru_cache(maxsize=1024)
def _valid_zone(zone: str) -> bool:
    if not zone or zone.startswith("Etc/Unknown"):
        return False
    try:
        ZoneInfo(zone)
        return True
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        return False


def zone_keys(series: pd.Series) -> pd.Series:
    """Lists of time zones → 'A|B' strings ('' when none), fast for repeated values."""
    if len(series) == 0:
        return pd.Series([], dtype=object)
    joined = series.str.join("|")
    todo = joined.isna() & series.notna()
    if todo.any():  # numpy arrays (e.g. after Parquet) or plain strings
        joined[todo] = series[todo].map(lambda z: z if isinstance(z, str) else "|".join(map(str, z)))
    return joined.fillna("")


def consent_ledger(con: Any, frame: pd.DataFrame, scopes: dict[str, set[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(opted_out, opted_in) boolean arrays aligned with `frame`, from the latest ledger row per
    (msisdn, scope) for the scopes of each recipient's country. Ties go to opt_out."""
    n = len(frame)
    opted_out = np.zeros(n, dtype=bool)
    opted_in = np.zeros(n, dtype=bool)
    all_scopes = sorted({s for ss in scopes.values() for s in ss})
    if con is None or n == 0 or not all_scopes:
        return opted_out, opted_in
    latest = con.execute(
        """SELECT msisdn, scope,
                  arg_max(action, epoch_us(coalesce(recorded_at, TIMESTAMP '1970-01-01')) * 2
                                  + CASE WHEN action = 'opt_out' THEN 1 ELSE 0 END) AS action
           FROM consent WHERE scope IN (SELECT unnest(?::VARCHAR[])) GROUP BY msisdn, scope""",
        [all_scopes]).df()
    if latest.empty:
        return opted_out, opted_in
    pairs = pd.DataFrame([(r, s) for r, ss in scopes.items() for s in ss], columns=["region", "scope"])
    latest = latest.merge(pairs, on="scope")
    index = pd.Index(frame["msisdn"])
    pos = index.get_indexer(latest["msisdn"])
    ok = pos >= 0
    ok[ok] = frame["region"].to_numpy(object)[pos[ok]] == latest["region"].to_numpy(object)[ok]
    action = latest["action"].to_numpy(object)
    opted_out[pos[ok & (action == "opt_out")]] = True
    opted_in[pos[ok & (action == "opt_in")]] = True
    return opted_out, opted_in


def evaluate(spec: Any, frame: pd.DataFrame, rs: RuleSet, at: datetime, issues: list[Issue],
             con: Any = None) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Decide every recipient. Returns the decisions frame and, per (reason, country), details
    for the findings: {'count', 'next_min', 'why'}."""
    n = len(frame)
    region_series = frame["region"].astype(object).where(frame["region"].notna(), "")
    codes, uniques = pd.factorize(region_series)
    uniques = [str(u) for u in uniques]
    reason = np.full(n, None, dtype=object)
    deferred = np.zeros(n, dtype=bool)
    next_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")

    def assign(mask: np.ndarray, value: str) -> None:
        free = mask & (reason == None)  # noqa: E711 - elementwise on an object array
        reason[free] = value

    valid = frame["valid"].fillna(False).to_numpy(bool) if "valid" in frame else np.ones(n, bool)
    assign(~valid, "invalid_number")

    has_rules = np.array([u in rs for u in uniques], dtype=bool)
    senders = [spec.sender_for(u) if u else None for u in uniques]
    has_sender = np.array([s is not None for s in senders], dtype=bool)
    if n:
        assign(~has_rules[codes], "no_rules")
        assign(~has_sender[codes], "no_sender")

    # campaign-level blocks, for the whole country or for some variants only
    variant_cache: dict[int, np.ndarray] = {}
    for issue in issues:
        if not issue.blocks or issue.country not in uniques:
            continue
        in_country = codes == uniques.index(issue.country)
        if issue.variants is not None and len(issue.variants) < len(spec.variant_names()):
            key = uniques.index(issue.country)
            if key not in variant_cache:
                variant_cache[key] = np.full(n, None, dtype=object)
                rows = np.flatnonzero(in_country)
                variant_cache[key][rows] = [spec.variant_for(m) for m in frame["msisdn"].to_numpy(object)[rows]]
            in_country = in_country & np.isin(variant_cache[key], list(issue.variants))
        assign(in_country, issue.rule)

    # consent ledger and consent
    scopes: dict[str, set[str]] = {}
    for u, s in zip(uniques, senders):
        if u and s is not None:
            scopes[u] = {"*"} | {x for x in (s.id, s.brand, s.opt_out_short_code) if x}
    opted_out, opted_in = consent_ledger(con, frame, scopes)
    assign(opted_out, "opted_out")
    if spec.purpose == "marketing" and n:
        consent_at = pd.to_datetime(frame["consent_at"]) if "consent_at" in frame else pd.Series(pd.NaT, index=frame.index)
        if getattr(consent_at.dt, "tz", None) is not None:
            consent_at = consent_at.dt.tz_convert("UTC").dt.tz_localize(None)
        has_consent = (consent_at.notna() & (consent_at <= pd.Timestamp(at))).to_numpy(bool) | opted_in
        needs = np.array([(rs.get(u) is not None and rs.get(u).consent.marketing != "not_required") for u in uniques],
                         dtype=bool)
        assign(needs[codes] & ~has_consent, "no_consent")

    # quiet hours, once per (country, zones) group
    details: dict[str, dict] = {}
    pending = reason == None  # noqa: E711
    qh_countries = [u for u in uniques if rs.get(u) is not None and spec.purpose in rs.get(u).quiet_hours.applies_to
                    and rs.get(u).quiet_hours.allowed is not None]
    if n and qh_countries and pending.any():
        zones = zone_keys(frame["time_zones"]) if "time_zones" in frame else pd.Series("", index=frame.index)
        group_key = region_series + "#" + zones.to_numpy(object)
        gcodes, gkeys = pd.factorize(group_key)
        wanted = np.zeros(len(gkeys), dtype=bool)
        wanted[np.unique(gcodes[pending])] = True
        at_naive = at
        for g, key in enumerate(gkeys):
            cc, _, zone_text = str(key).partition("#")
            if not wanted[g] or cc not in qh_countries:
                continue
            country = rs.country(cc)
            zs = tuple(z for z in zone_text.split("|") if _valid_zone(z)) or \
                tuple(z for z in country.time_zones if _valid_zone(z))
            why = windows.why_not(country, zs, at_naive)
            if why is None:
                continue
            nxt = windows.next_allowed(country, zs, at_naive)
            rows = (gcodes == g) & pending
            if nxt is None:
                assign(rows, "no_allowed_window")
                continue
            code = "public_holiday" if why.startswith("public holiday") else "quiet_hours"
            assign(rows, code)
            deferred |= rows
            next_at[rows] = np.datetime64(nxt, "us")
            d = details.setdefault(f"{code}|{cc}", {"next_min": nxt, "why": why})
            d["next_min"] = min(d["next_min"], nxt)

    decision = np.where(reason == None, "allowed", np.where(deferred, "deferred", "blocked"))  # noqa: E711
    decisions = pd.DataFrame({
        "msisdn": frame["msisdn"].to_numpy(object),
        "region": region_series.to_numpy(object),
        "decision": decision.astype(object),
        "reason": reason,
        "next_allowed_at": pd.Series(next_at).astype("datetime64[us]").to_numpy(),
    })
    return decisions, details
