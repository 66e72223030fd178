"""Place a +1 number in its US state or Canadian province, by area code (NPA).

The table comes from libphonenumber's geocoding data (the `phonenumbers` package, Apache-2.0):
the English description of each area code's prefixes, such as "Florida", "New York, NY" or
"Ontario", is turned into an ISO 3166-2 code (`US-FL`, `US-NY`, `CA-ON`). An area code whose
prefixes name more than one subdivision, or none (toll-free 800, non-geographic 500/900,
Caribbean countries sharing +1; 902/782 shared by Nova Scotia and Prince Edward Island;
867 shared by the three territories), places nowhere (None). The table is built once and cached.

Example:
    >>> subdivision_for_number("+13055550123"), subdivision_for_number("+14165550123")
    ('US-FL', 'CA-ON')
    >>> subdivision_for_number("+18005550123") is None
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np

US_STATES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
}
CA_PROVINCES = {
    "AB": "Alberta",
    "BC": "British Columbia",
    "MB": "Manitoba",
    "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador",
    "NS": "Nova Scotia",
    "NT": "Northwest Territories",
    "NU": "Nunavut",
    "ON": "Ontario",
    "PE": "Prince Edward Island",
    "QC": "Quebec",
    "SK": "Saskatchewan",
    "YT": "Yukon",
}
# how libphonenumber spells some of them
_ALIASES = {
    "washington state": "US-WA",
    "washington d.c.": "US-DC",
    "washington, dc": "US-DC",
    "québec": "CA-QC",
    "british colombia": "CA-BC",
    "newfoundland": "CA-NL",
    "yukon territory": "CA-YT",
    "northwest territories/nunavut": None,
}


@lru_cache(maxsize=1)
def _names() -> dict[str, str | None]:
    names: dict[str, str | None] = {v.lower(): f"US-{k}" for k, v in US_STATES.items()}
    names.update({v.lower(): f"CA-{k}" for k, v in CA_PROVINCES.items()})
    names.update(_ALIASES)
    return names


def subdivision_for_description(text: str) -> str | None:
    """'Florida' -> 'US-FL'; 'New York, NY' -> 'US-NY'; 'Toronto, ON' -> 'CA-ON'; else None."""
    text = (text or "").strip()
    if not text:
        return None
    names = _names()
    if text.lower() in names:
        return names[text.lower()]
    if "," in text:
        tail = text.rsplit(",", 1)[1].strip().upper()
        if tail in US_STATES:
            return f"US-{tail}"
        if tail in CA_PROVINCES:
            return f"CA-{tail}"
        return names.get(tail.lower())
    return None


@lru_cache(maxsize=1)
def npa_table() -> dict[str, str]:
    """Area code -> subdivision code, for every area code that places in exactly one."""
    from phonenumbers import geocoder, parse

    table: dict[str, str] = {}
    for npa in range(200, 1000):
        found: set[str | None] = set()
        # the area code's own entry, then a few exchanges: one description each
        for rest in ("2000000", "5550100", "7000000", "9000000"):
            try:
                number = parse(f"+1{npa}{rest}")
            except Exception:  # pragma: no cover - parse of a well-formed +1 number
                continue
            found.add(subdivision_for_description(geocoder.description_for_number(number, "en")))
        places = {p for p in found if p is not None}
        if len(places) == 1:
            table[str(npa)] = places.pop()
    return table


def subdivision_for_number(e164: str | None) -> str | None:
    """The subdivision of a +1 number (E.164 string), or None (not +1, not placed)."""
    if not isinstance(e164, str) or not e164.startswith("+1") or len(e164) < 5:
        return None
    return npa_table().get(e164[2:5])


def subdivisions_for_numbers(numbers: Iterable[str | None]) -> np.ndarray:
    """Vectorised `subdivision_for_number`: an object array (None where not placed).

    Numbers are factorised by area code, so the table is consulted once per distinct code.

    Example:
        >>> list(subdivisions_for_numbers(["+13055550123", "+33612345678", None]))
        ['US-FL', None, None]
    """
    values = np.asarray(list(numbers), dtype=object)
    keys = np.array(
        [v[2:5] if isinstance(v, str) and v.startswith("+1") and len(v) >= 5 else "" for v in values], dtype=object
    )
    uniques, inverse = np.unique(keys.astype(str), return_inverse=True)
    table = npa_table()
    mapped = np.array([table.get(u) if u else None for u in uniques] + [None], dtype=object)[:-1]
    return mapped[inverse] if len(values) else np.array([], dtype=object)
