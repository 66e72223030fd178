"""Quiet hours: is an instant allowed in every one of a recipient's time zones, and if not, when?

The allowed set in one zone is a union of local windows (per weekday, minus public holidays
when the country excludes them). An unknown window or holiday rule is replaced by the
conservative default of `smslab.rules.defaults` (never "no rule"). A recipient whose number maps
to several zones may only be messaged when the instant is allowed in all of them; the earliest
such instant is either the instant itself or the start of some window in one of the zones,
which is what `next_allowed` searches.

Example:
    >>> from datetime import datetime
    >>> from smslab.rules import load
    >>> fr = load().country("FR")
    >>> allowed(fr, ("Europe/Paris",), datetime(2026, 11, 24, 18, 0))   # 19:00 in Paris, a Tuesday
    True
    >>> next_allowed(fr, ("Europe/Paris",), datetime(2026, 11, 24, 19, 45))  # 20:45 in Paris: closed
    datetime.datetime(2026, 11, 25, 9, 0)
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from smslab.rules.defaults import quiet_hours_in_force
from smslab.rules.schema import DAYS, Country

HORIZON_DAYS = 21


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@lru_cache(maxsize=512)
def _parsed(windows: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    out = []
    for w in windows:
        start, end = w.split("-")
        out.append((_minutes(start), _minutes(end)))
    return tuple(out)


@lru_cache(maxsize=256)
def public_holidays(cc: str, year: int) -> dict[date, str] | None:
    """National public holidays of a country for a year (the `holidays` package); None when the
    package has no calendar for that country or year (never a warning on stderr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "Year 2090 is out of range": answered with None below
        try:
            calendar = holidays_lib.country_holidays(cc, years=year)
            found = dict(calendar)
        except (NotImplementedError, KeyError, ValueError):
            return None
    start, end = getattr(calendar, "start_year", None), getattr(calendar, "end_year", None)
    if (start is not None and year < start) or (end is not None and year > end):
        return None
    return found


def holiday_calendar_known(cc: str, year: int) -> bool:
    """Whether a public-holiday calendar exists for the country and year."""
    return public_holidays(cc, year) is not None


def holiday_name(cc: str, day: date) -> str | None:
    return (public_holidays(cc, day.year) or {}).get(day)


def _windows_for(country: Country, local: datetime) -> tuple[tuple[int, int], ...]:
    qh = quiet_hours_in_force(country)
    if qh.holidays_excluded and holiday_name(country.country, local.date()):
        return ()
    return _parsed(tuple(qh.allowed[DAYS[local.weekday()]]))


def why_not(country: Country, zones: tuple[str, ...], at_utc: datetime) -> str | None:
    """None if `at_utc` (UTC, naive) is allowed in every zone, else the reason for the first zone that is not."""
    qh = quiet_hours_in_force(country)
    aware = at_utc.replace(tzinfo=UTC)
    for zone in zones:
        local = aware.astimezone(ZoneInfo(zone))
        minute = local.hour * 60 + local.minute
        if qh.holidays_excluded:
            name = holiday_name(country.country, local.date())
            if name:
                return f"public holiday in {country.country} ({name}, {local.date()})"
        windows = _parsed(tuple(qh.allowed[DAYS[local.weekday()]]))
        if not windows:
            return f"no marketing on {local.strftime('%A')}s in {country.country} ({zone})"
        if not any(start <= minute < end for start, end in windows):
            shown = ", ".join(qh.allowed[DAYS[local.weekday()]])
            return f"outside allowed hours {shown} on {local.strftime('%A')} at {local.strftime('%H:%M')} {zone}"
    return None


def allowed(country: Country, zones: tuple[str, ...], at_utc: datetime) -> bool:
    """Whether marketing may reach a phone in all `zones` at `at_utc` (UTC, naive)."""
    return why_not(country, zones, at_utc) is None


def next_allowed(
    country: Country, zones: tuple[str, ...], at_utc: datetime, horizon_days: int = HORIZON_DAYS
) -> datetime | None:
    """The earliest instant ≥ `at_utc` allowed in every zone (UTC, naive); None if none within the horizon."""
    if allowed(country, zones, at_utc):
        return at_utc
    aware = at_utc.replace(tzinfo=UTC)
    candidates: set[datetime] = set()
    for zone in zones:
        tz = ZoneInfo(zone)
        first_day = aware.astimezone(tz).date()
        for offset in range(horizon_days + 1):
            day = first_day + timedelta(days=offset)
            local_midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            windows = _windows_for(country, local_midnight)
            for start, _end in windows:
                local_start = (
                    datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=tz)
                    if start < 24 * 60
                    else None
                )
                if local_start is None:
                    continue
                utc = local_start.astimezone(UTC).replace(tzinfo=None)
                if utc > at_utc:
                    candidates.add(utc)
    for candidate in sorted(candidates):
        if allowed(country, zones, candidate):
            return candidate
    return None
