"""The recipient-level pass, vectorised over the whole audience.

Per recipient, in order (the first that applies is the reason): invalid number, country not in
the dataset, no sender, a campaign-level block for the country (or the recipient's variant),
opted out in the consent ledger (sender id, brand, opt-out short code or '*'), no consent for
marketing, then quiet hours (deferred with the next allowed time). Reasons are kept as small
integer codes over numpy arrays; quiet hours are computed once per distinct
(country, time zones) group, never per row; the ledger is joined inside DuckDB.

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

from smslab import identity
from smslab.compliance import windows
from smslab.compliance.campaign_rules import Issue
from smslab.compliance.caps import capped
from smslab.rules import RuleSet
from smslab.rules.placement import subdivisions_for_numbers

CAMPAIGN_REASONS = (
    "sender_type_not_allowed",
    "alphanumeric_two_way",
    "opt_out_short_code_missing",
    "opt_out_wording_missing",
    "content_banned",
    "required_element_missing",
    "sender_id_format",
)
REASONS = (
    "invalid_number",
    "no_rules",
    "no_sender",
    *CAMPAIGN_REASONS,
    "opted_out",
    "no_consent",
    "no_allowed_window",
    "frequency_cap",
    "quiet_hours",
    "public_holiday",
)
DEFERRING = ("frequency_cap", "quiet_hours", "public_holiday")
_CODE = {r: i for i, r in enumerate(REASONS)}


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
    """Lists of time zones → 'A|B' strings ('' when none)."""
    if len(series) == 0:
        return pd.Series([], dtype=object)
    if isinstance(series.dtype, pd.ArrowDtype):
        import pyarrow.compute as pc

        return pd.Series(pc.binary_join(series.array._pa_array, "|").to_pandas(), index=series.index).fillna("")
    joined = series.str.join("|")
    todo = joined.isna() & series.notna()
    if todo.any():  # numpy arrays (e.g. after Parquet) or plain strings
        joined[todo] = series[todo].map(lambda z: z if isinstance(z, str) else "|".join(map(str, z)))
    return joined.fillna("")


def consent_ledger(con: Any, frame: pd.DataFrame, scopes: dict[str, set[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(opted_out, opted_in) boolean arrays aligned with `frame`, from the latest ledger row per
    (msisdn, scope) among the scopes of each recipient's country. Ties go to opt_out."""
    n = len(frame)
    opted_out = np.zeros(n, dtype=bool)
    opted_in = np.zeros(n, dtype=bool)
    pairs = [(r, s) for r, ss in scopes.items() for s in sorted(ss)]
    if con is None or n == 0 or not pairs:
        return opted_out, opted_in
    if con.execute("SELECT count(*) FROM consent").fetchall()[0][0] == 0:
        return opted_out, opted_in
    audience = pd.DataFrame(
        {"msisdn": frame["msisdn"].array, "region": frame["region"].array, "rn": np.arange(n, dtype=np.int64)}
    )
    scope_frame = pd.DataFrame(pairs, columns=["region", "scope"])
    con.register("_smslab_aud", audience)
    con.register("_smslab_scopes", scope_frame)
    try:
        hits = con.execute(
            """WITH latest AS (
                   SELECT msisdn, scope,
                          arg_max(action, epoch_us(coalesce(recorded_at, TIMESTAMP '1970-01-01')) * 2
                                          + CASE WHEN action = 'opt_out' THEN 1 ELSE 0 END) AS action
                   FROM consent WHERE scope IN (SELECT scope FROM _smslab_scopes)
                   GROUP BY msisdn, scope)
               SELECT a.rn, bool_or(l.action = 'opt_out') AS out_, bool_or(l.action = 'opt_in') AS in_
               FROM latest l
               JOIN _smslab_scopes s ON s.scope = l.scope
               JOIN _smslab_aud a ON a.msisdn = l.msisdn AND a.region = s.region
               GROUP BY a.rn"""
        ).fetchnumpy()
    finally:
        con.unregister("_smslab_aud")
        con.unregister("_smslab_scopes")
    rn = np.asarray(hits["rn"], dtype=np.int64)
    opted_out[rn[np.asarray(hits["out_"], dtype=bool)]] = True
    opted_in[rn[np.asarray(hits["in_"], dtype=bool)]] = True
    return opted_out, opted_in


def _consent_times(frame: pd.DataFrame) -> pd.Series:
    if "consent_at" not in frame:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    values = frame["consent_at"]
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, errors="coerce", utc=True)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def evaluate(
    spec: Any, frame: pd.DataFrame, rs: RuleSet, at: datetime, issues: list[Issue], con: Any = None
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Decide every recipient. Returns the decisions frame and, per 'reason|country', details
    for the findings: {'next_min', 'why'}."""
    n = len(frame)
    rcodes, runiques = pd.factorize(frame["region"]) if n else (np.array([], dtype=np.int64), [])
    uniques = [str(u) for u in runiques] + [""]
    rcodes = np.where(rcodes < 0, len(uniques) - 1, rcodes)
    reason = np.full(n, -1, dtype=np.int16)
    next_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")

    def assign(mask: np.ndarray, value: str) -> None:
        reason[mask & (reason < 0)] = _CODE[value]

    if "valid" in frame:
        assign(~frame["valid"].fillna(False).to_numpy(dtype=bool), "invalid_number")
    countries = [rs.get(u) for u in uniques]
    senders = [spec.sender_for(u) if u else None for u in uniques]
    assign(~np.array([c is not None for c in countries], dtype=bool)[rcodes], "no_rules")
    assign(~np.array([s is not None for s in senders], dtype=bool)[rcodes], "no_sender")

    # campaign-level issues, for the whole country or for some variants only; blocks stop them
    variants_of: dict[int, np.ndarray] = {}
    affected: list[int] = []
    for issue in issues:
        if issue.country not in uniques:
            affected.append(0)
            continue
        key = uniques.index(issue.country)
        in_country = rcodes == key
        if issue.variants is not None and len(issue.variants) < len(spec.variant_names()):
            if key not in variants_of:
                rows = np.flatnonzero(in_country)
                variants_of[key] = np.full(n, "", dtype=object)
                variants_of[key][rows] = [spec.variant_for(m) for m in frame["msisdn"].iloc[rows]]
            in_country = in_country & np.isin(variants_of[key], list(issue.variants))
        affected.append(int(in_country.sum()))
        if issue.blocks:
            assign(in_country, issue.rule)

    # the consent ledger, then consent
    scopes = {
        u: {"*"} | {identity.key(x) for x in (s.id, s.brand, s.opt_out_short_code) if x}
        for u, s in zip(uniques, senders, strict=False)
        if u and s is not None
    }
    opted_out, opted_in = consent_ledger(con, frame, scopes)
    assign(opted_out, "opted_out")
    if spec.purpose == "marketing" and n:
        consent_at = _consent_times(frame)
        has_consent = (consent_at.notna() & (consent_at <= pd.Timestamp(at))).to_numpy(dtype=bool) | opted_in
        needs = np.array([c is not None and c.consent.marketing != "not_required" for c in countries], dtype=bool)
        assign(needs[rcodes] & ~has_consent, "no_consent")

    # the state or province of +1 numbers (area code), where the country has rules per subdivision
    subs = subdivision_codes(frame, rcodes, countries)
    scodes, suniques = pd.factorize(subs) if n else (np.zeros(0, dtype=np.int64), [])
    state_rules: dict[tuple[str, str], Any] = {}

    # quiet hours, once per (country, subdivision, zones) group
    details: dict[str, Any] = {"issue_recipients": affected}
    # an unknown window or holiday rule is not "no rule": windows applies the conservative default
    applies = np.array([c is not None and spec.purpose in c.quiet_hours.applies_to for c in countries], dtype=bool)
    pending = (reason < 0) & applies[rcodes] if n else np.zeros(0, dtype=bool)
    if pending.any():
        zones = zone_keys(frame["time_zones"]) if "time_zones" in frame else pd.Series("", index=frame.index)
        zcodes, zuniques = pd.factorize(zones)
        nz, ns = len(zuniques) + 1, len(suniques) + 1
        combined = (rcodes.astype(np.int64) * ns + scodes) * nz + zcodes
        gcodes, gkeys = pd.factorize(combined)
        wanted = np.unique(gcodes[pending])
        for g in wanted:
            key = int(gkeys[g])
            s = (key // nz) % ns
            cc, sub = uniques[key // (nz * ns)], str(suniques[s]) if s < len(suniques) else ""
            zone_text = str(zuniques[key % nz])
            country = rules_for(countries[uniques.index(cc)], sub, state_rules)
            zs = tuple(z for z in zone_text.split("|") if _valid_zone(z)) or tuple(
                z for z in country.time_zones if _valid_zone(z)
            )
            why = windows.why_not(country, zs, at)
            if why is None:
                continue
            nxt = windows.next_allowed(country, zs, at)
            rows = (gcodes == g) & pending
            if nxt is None:
                assign(rows, "no_allowed_window")
                continue
            code = "public_holiday" if why.startswith("public holiday") else "quiet_hours"
            if sub:
                why = f"{why} ({country.subdivisions[sub].name} rule)"
            assign(rows, code)
            next_at[rows] = np.datetime64(nxt, "us")
            d = details.setdefault(f"{code}|{cc}", {"next_min": nxt, "why": why})
            d["next_min"] = min(d["next_min"], nxt)

    # frequency caps, counted against the messages in the database
    _apply_caps(con, spec, frame, uniques, rcodes, subs, countries, at, reason, next_at, details, assign, state_rules)

    deferring = np.isin(reason, [_CODE[r] for r in DEFERRING])
    decision = np.where(reason < 0, 0, np.where(deferring, 1, 2)).astype(np.int8)
    region_codes = np.where(np.array([u == "" for u in uniques], dtype=bool)[rcodes], -1, rcodes) if n else rcodes
    decisions = pd.DataFrame(
        {
            "msisdn": frame["msisdn"].array if n else pd.array([], dtype="str"),
            "region": _decode(region_codes, uniques),
            "decision": _decode(decision, ["allowed", "deferred", "blocked"]),
            "reason": _decode(reason, list(REASONS)),
            "next_allowed_at": next_at,
        }
    )
    return decisions, details


def subdivision_codes(frame: pd.DataFrame, rcodes: np.ndarray, countries: list[Any]) -> np.ndarray:
    """Per row, the subdivision (e.g. 'US-FL') whose own rules apply, or ''. Only countries with
    subdivision rules are looked at; numbers are placed by area code."""
    out = np.full(len(frame), "", dtype=object)
    for i, country in enumerate(countries):
        if country is None or not getattr(country, "subdivisions", None):
            continue
        rows = np.flatnonzero(rcodes == i)
        if len(rows):
            found = subdivisions_for_numbers(frame["msisdn"].to_numpy()[rows])
            out[rows] = [f if f in country.subdivisions else "" for f in found]
    return out


def rules_for(country: Any, sub: str, memo: dict[tuple[str, str], Any]) -> Any:
    """The country's rules with a subdivision's own quiet hours (national and state claims combined);
    `memo` (one per evaluation) keeps each copy for the rows of the same state."""
    if not sub:
        return country
    key = (country.country, sub)
    if key not in memo:
        memo[key] = country.model_copy(update={"quiet_hours": country.subdivisions[sub].quiet_hours})
    return memo[key]


def caps_in_force(country: Any, sub: str, purpose: str) -> list[Any]:
    """The caps for a number in `sub` (the subdivision's list already holds the national ones)."""
    caps = country.subdivisions[sub].caps if sub else getattr(country, "caps", None)
    return [c for c in caps or [] if purpose in (getattr(c, "applies_to", None) or ["marketing"])]


def _apply_caps(
    con: Any,
    spec: Any,
    frame: pd.DataFrame,
    uniques: list[str],
    rcodes: np.ndarray,
    subs: np.ndarray,
    countries: list[Any],
    at: datetime,
    reason: np.ndarray,
    next_at: np.ndarray,
    details: dict[str, Any],
    assign: Any,
    state_rules: dict[tuple[str, str], Any],
) -> None:
    candidates = np.flatnonzero(reason < 0) if len(frame) else np.zeros(0, dtype=np.int64)
    caps_of: dict[tuple[str, str], list[Any]] = {}
    for i, country in enumerate(countries):
        if country is None:
            continue
        for sub in {""} | set(getattr(country, "subdivisions", {}) or {}):
            found = caps_in_force(country, sub, spec.purpose)
            if found:
                caps_of[(uniques[i], sub)] = found
    if not caps_of or not len(candidates):
        return
    rows = pd.DataFrame(
        {
            "rn": candidates,
            "msisdn": frame["msisdn"].to_numpy()[candidates],
            "region": np.array(uniques, dtype=object)[rcodes[candidates]],
            "sub": subs[candidates],
        }
    )
    rows = rows[[k in caps_of for k in zip(rows["region"], rows["sub"], strict=False)]]
    if con is None:
        if len(rows):
            details["caps_not_checked"] = int(len(rows))
        return
    over = capped(con, spec, rows, caps_of, at)
    for rn, (release, why) in over.items():
        cc = uniques[rcodes[rn]]
        country = rules_for(countries[rcodes[rn]], subs[rn], state_rules)
        own = frame["time_zones"].iloc[rn] if "time_zones" in frame else None
        zs = tuple(z for z in (own if own is not None else []) if _valid_zone(z)) or tuple(
            z for z in country.time_zones if _valid_zone(z)
        )
        nxt = windows.next_allowed(country, zs, release) if spec.purpose in country.quiet_hours.applies_to else release
        mask = np.zeros(len(reason), dtype=bool)
        mask[rn] = True
        if nxt is None:
            assign(mask, "no_allowed_window")
            continue
        assign(mask, "frequency_cap")
        next_at[rn] = np.datetime64(nxt, "us")
        d = details.setdefault(f"frequency_cap|{cc}", {"next_min": nxt, "why": why})
        d["next_min"] = min(d["next_min"], nxt)


def _decode(codes: np.ndarray, labels: list[str]) -> pd.Series:
    """Integer codes (-1 = missing) → a plain string column, decoded by Arrow in one pass."""
    import pyarrow as pa

    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(labels, pa.string())).cast(pa.string()).to_pandas()
