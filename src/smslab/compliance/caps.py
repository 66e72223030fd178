"""Frequency caps: at most N marketing messages per recipient per period, counted in the database.

A cap (`rules.Country.caps`, or a state's own, e.g. Florida's "3 in 24 hours") counts the
marketing messages already scheduled or submitted to the same number by other campaigns
(failed and rejected ones excepted) within one period either side of the moment checked, per
brand, per sender or in all. A recipient at the cap is deferred until the oldest counted
message leaves the period, and checked again then.

Example:
    >>> from datetime import datetime
    >>> cap_release([datetime(2026, 11, 24, 9), datetime(2026, 11, 24, 10), datetime(2026, 11, 24, 11)],
    ...             limit=3, period_hours=24)
    datetime.datetime(2026, 11, 25, 9, 0)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from smslab import identity
from smslab.campaign import stored_senders


def cap_release(times: list[datetime], *, limit: int, period_hours: float) -> datetime | None:
    """When one more message fits under the cap, given the counted messages' times; None if it fits now."""
    if len(times) < limit:
        return None
    ordered = sorted(times)
    return ordered[len(ordered) - limit] + timedelta(hours=period_hours)


def _campaign_senders(con: Any) -> dict[tuple[str, str], tuple[str, str]]:
    """(campaign_id, region) -> (brand key, sender key), for marketing campaigns; region '*' is the fallback."""
    return {
        (campaign_id, cc): (identity.key(sender.get("brand") or sender["id"]), identity.key(sender["id"]))
        for campaign_id, _data, cc, sender in stored_senders(con, purpose="marketing")
    }


def capped(
    con: Any, spec: Any, rows: pd.DataFrame, caps_of: dict[tuple[str, str], list[Any]], at: datetime
) -> dict[int, tuple[datetime, str]]:
    """Recipients over a cap: {row number: (when one more message fits, why)}.

    `rows` has columns rn, msisdn, region, sub (subdivision code or ''); `caps_of` maps
    (region, sub) to the cap rules in force there for this purpose.
    """
    if con is None or rows.empty or not caps_of:
        return {}
    longest = max(c.period_hours for caps in caps_of.values() for c in caps)
    con.register("_cap_audience", rows[["msisdn"]].drop_duplicates())
    try:
        sent = con.execute(
            """SELECT m.msisdn, coalesce(m.submitted_at, m.scheduled_at) AS t, m.campaign_id, m.region
               FROM messages m JOIN campaigns c USING (campaign_id)
               WHERE m.msisdn IN (SELECT msisdn FROM _cap_audience) AND c.purpose = 'marketing'
                 AND m.campaign_id <> ? AND m.status NOT IN ('failed', 'rejected')
                 AND coalesce(m.submitted_at, m.scheduled_at) > ? AND coalesce(m.submitted_at, m.scheduled_at) < ?""",
            [spec.campaign_id, at - timedelta(hours=longest), at + timedelta(hours=longest)],
        ).df()
    finally:
        con.unregister("_cap_audience")
    if sent.empty:
        return {}
    owners = _campaign_senders(con)
    by_number = {m: g for m, g in sent.groupby("msisdn", sort=False)}
    out: dict[int, tuple[datetime, str]] = {}
    for rn, msisdn, region, sub in rows[["rn", "msisdn", "region", "sub"]].itertuples(index=False):
        history = by_number.get(msisdn)
        caps = caps_of.get((region, sub))
        if history is None or not caps:
            continue
        sender = spec.sender_for(region)
        ours = (identity.key(sender.brand or sender.id), identity.key(sender.id))
        theirs = [
            owners.get((c, r)) or owners.get((c, "*"))
            for c, r in zip(history["campaign_id"], history["region"], strict=False)
        ]
        times = history["t"].dt.to_pydatetime()
        for cap in caps:
            period = timedelta(hours=cap.period_hours)
            keep = np.array(
                [
                    (
                        cap.per == "any"
                        or (o is not None and o[0 if cap.per == "brand" else 1] == ours[0 if cap.per == "brand" else 1])
                    )
                    and at - period < t < at + period
                    for o, t in zip(theirs, times, strict=False)
                ],
                dtype=bool,
            )
            counted = [t for t, k in zip(times, keep, strict=False) if k]
            release = cap_release(counted, limit=cap.max, period_hours=cap.period_hours)
            if release is not None:
                why = f"at most {cap.max} marketing message(s) per {cap.period_hours:g} h per {cap.per}"
                if rn not in out or release > out[int(rn)][0]:
                    out[int(rn)] = (max(release, at), why)
    return out
