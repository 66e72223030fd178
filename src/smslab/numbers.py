"""Phone numbers: parse and normalise with phonenumbers, one row per input.

Example:
    >>> from smslab.numbers import normalize
    >>> normalize(["06 12 34 56 78"], default_region="FR").loc[0, "e164"]
    '+33612345678'
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd
import phonenumbers
from phonenumbers import carrier, timezone as pn_timezone

COLUMNS = ["input", "e164", "region", "valid", "number_type", "time_zones", "carrier", "error"]

_TYPE_NAMES = {
    value: name.lower()
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}


def normalize_one(value: str | None, region: str | None) -> dict:
    """phonenumbers' answer for one input (the reference the fast path must match)."""
    row = {"input": value, "e164": None, "region": None, "valid": False, "number_type": "unknown",
           "time_zones": [], "carrier": "", "error": None}
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        row["error"] = "empty"
        return row
    try:
        num = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException as exc:
        row["error"] = f"unparseable: {exc._msg}"
        return row
    row["e164"] = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    row["region"] = phonenumbers.region_code_for_number(num)
    row["valid"] = phonenumbers.is_valid_number(num)
    row["number_type"] = _TYPE_NAMES.get(phonenumbers.number_type(num), "unknown")
    row["time_zones"] = list(pn_timezone.time_zones_for_number(num))
    row["carrier"] = carrier.name_for_number(num, "en")
    if not row["valid"]:
        row["error"] = "not a valid number"
    return row


def normalize(values: Iterable[str] | pd.Series, *, default_region: str | pd.Series | None = None) -> pd.DataFrame:
    """Normalise phone numbers; one output row per input, in order.

    `default_region` is a region code, or a Series of per-row codes, used for numbers
    written without a country calling code.
    """
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values.tolist(), dtype=object)
    if isinstance(default_region, pd.Series):
        regions = default_region.tolist()
    else:
        regions = [default_region] * len(series)
    cache: dict[tuple, dict] = {}
    rows = []
    for value, region in zip(series.tolist(), regions):
        region = None if region is None or (isinstance(region, float) and pd.isna(region)) else str(region).upper()
        key = (value, region)
        if key not in cache:
            cache[key] = normalize_one(value, region)
        rows.append(cache[key])
    return pd.DataFrame(rows, columns=COLUMNS)
