"""The reference: phonenumbers' answer for one input, through its public API (and the parse error's message).

`normalize` must give exactly these answers; tests and bench/numbers.py compare the two.

Example:
    >>> row = normalize_one("06 12 34 56 78", "FR")
    >>> row["e164"], row["region"], row["number_type"], row["time_zones"], row["carrier"]
    ('+33612345678', 'FR', 'mobile', ['Europe/Paris'], 'SFR')
    >>> normalize_one("n/a", "FR")["error"]
    'unparseable: The string supplied did not seem to be a phone number.'
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import phonenumbers
from phonenumbers import carrier
from phonenumbers import timezone as pn_timezone

from smslab.numbers.phonenumbers_internals import parse_error_message

COLUMNS = ["input", "e164", "region", "valid", "number_type", "time_zones", "carrier", "error"]

TYPE_NAMES = {
    value: name.lower()
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}


def region_code(value: Any, what: str = "") -> str | None:
    """A region code phonenumbers knows, upper-cased (None for none given); an InputError naming
    `what` (the option or argument) otherwise.

    Example:
        >>> region_code(" fr", "--region"), region_code("", "--region")
        ('FR', None)
    """
    from smslab.errors import InputError

    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return None
    code = str(value).strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        where = f"{what} " if what else ""
        raise InputError(f"{where}{value!r}: expected a two-letter region code such as FR, US or KE")
    return code


def normalize_one(value: str | None, region: str | None) -> dict:
    """phonenumbers' answer for one input (the reference the fast path must match)."""
    row: dict[str, Any] = {
        "input": value,
        "e164": None,
        "region": None,
        "valid": False,
        "number_type": "unknown",
        "time_zones": [],
        "carrier": "",
        "error": None,
    }
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        row["error"] = "empty"
        return row
    try:
        num = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException as exc:
        row["error"] = f"unparseable: {parse_error_message(exc)}"
        return row
    row["e164"] = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    row["region"] = phonenumbers.region_code_for_number(num)
    row["valid"] = phonenumbers.is_valid_number(num)
    row["number_type"] = TYPE_NAMES.get(phonenumbers.number_type(num), "unknown")
    row["time_zones"] = list(pn_timezone.time_zones_for_number(num))
    row["carrier"] = carrier.name_for_number(num, "en")
    if not row["valid"]:
        row["error"] = "not a valid number"
    return row
