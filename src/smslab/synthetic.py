"""Synthetic, deterministic audiences for demos, samples and benchmarks.

Numbers are drawn from real mobile ranges and kept only when phonenumbers says they are
valid mobiles, written in the mixed formats real audience files have.

Example:
    >>> from smslab.synthetic import audience
    >>> frame = audience(20, seed=1)
    >>> list(frame.columns)[:3]
    ['msisdn', 'consent_at', 'consent_source']
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd
import phonenumbers

# country -> (share of the audience, mobile prefixes in E.164, digits after the prefix, language)
COUNTRIES: dict[str, tuple[float, list[str], int, str]] = {
    "FR": (0.25, ["+336", "+337"], 8, "fr"),
    "US": (0.20, ["+1212", "+1305", "+1312", "+1415", "+1617", "+1646", "+1702", "+1818"], 7, "en"),
    "GB": (0.12, ["+4474", "+4475", "+4477", "+4478", "+4479"], 8, "en"),
    "DE": (0.10, ["+49151", "+49160", "+49170", "+49176"], 7, "de"),
    "KE": (0.10, ["+2547"], 8, "sw"),
    "BR": (0.08, ["+55119", "+55219"], 8, "pt"),
    "ES": (0.08, ["+346"], 8, "es"),
    "IN": (0.07, ["+919", "+918", "+917"], 9, "hi"),
}
LANGUAGE = {cc: spec[3] for cc, spec in COUNTRIES.items()}
_MOBILE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def _number(rng: random.Random, region: str) -> str:
    _, prefixes, digits, _ = COUNTRIES[region]
    while True:
        candidate = rng.choice(prefixes) + "".join(str(rng.randrange(10)) for _ in range(digits))
        parsed = phonenumbers.parse(candidate)
        if phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in _MOBILE:
            return candidate


def _written(rng: random.Random, e164: str, region: str) -> str:
    """The way a person typed it: E.164, international with spaces, or national (FR only)."""
    parsed = phonenumbers.parse(e164)
    style = rng.random()
    if region == "FR" and style < 0.5:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    if style < 0.75:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return e164


def audience(
    n: int, *, seed: int = 7, consent_share: float = 0.94, invalid: int = 0, start: datetime = datetime(2026, 1, 1)
) -> pd.DataFrame:
    """`n` recipients across COUNTRIES (msisdn, consent_at, consent_source, first_name, language).

    `invalid` extra rows carry numbers that must be quarantined on load.
    """
    rng = random.Random(seed)
    regions = list(COUNTRIES)
    weights = [COUNTRIES[r][0] for r in regions]
    seen: set[str] = set()
    rows: list[dict[str, str]] = []
    names = ["Alex", "Sam", "Noor", "Lea", "Ravi", "Ana", "Jo", "Kim", "Wanjiru", "Lukas", "Chloé", "Mateo"]
    while len(rows) < n:
        region = rng.choices(regions, weights)[0]
        e164 = _number(rng, region)
        if e164 in seen:
            continue
        seen.add(e164)
        consented = rng.random() < consent_share
        rows.append(
            {
                "msisdn": _written(rng, e164, region),
                "consent_at": (start + timedelta(minutes=rng.randrange(300 * 24 * 60))).isoformat(timespec="seconds")
                if consented
                else "",
                "consent_source": rng.choice(["web_form", "checkout", "in_store"]) if consented else "",
                "first_name": rng.choice(names),
                "language": LANGUAGE[region],
            }
        )
    junk = ["+33 7 12 34 56 78", "12345", "n/a", "+999 1234567", "+44 7700 900123"]
    for i in range(invalid):
        rows.append(
            {"msisdn": junk[i % len(junk)], "consent_at": "", "consent_source": "", "first_name": "?", "language": ""}
        )
    return pd.DataFrame(rows)
