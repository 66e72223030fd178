"""One identity per number and sender id, whatever spelling a provider or a spec uses.

- Phone numbers and numeric sender ids (long codes, toll-free) are E.164 with `+`:
  Twilio writes `+447700900123`, Infobip, Vonage and SMPP `447700900123`, a spec may say
  `07700 900123` for GB; all three are `+447700900123`.
- Short codes are their digits (`36180`); a short code belongs to a country, so matching one
  also checks the country of the person who wrote to it (see `calling_prefix`).
- Alphanumeric ids are kept as written and compared case-insensitively (`key`).

`address` gives the stored form, `key` the form to compare (and to store as a consent scope).

Example:
    >>> address("447700900123"), address("+44 7700 900123"), address("0044-7700-900123")
    ('+447700900123', '+447700900123', '+447700900123')
    >>> address("07700 900123", region="GB", sender_type="long_code")
    '+447700900123'
    >>> address("36180"), address(" Acme "), key("Acme")
    ('36180', 'Acme', 'ACME')
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

#: a bare digit string at least this long is an international number written without `+`
#: (shorter ones are short codes, which have 3 to 8 digits)
MIN_INTERNATIONAL_DIGITS = 9
_SEPARATORS = re.compile(r"[\s\-().]")
_NUMERIC = re.compile(r"\+?\d+")


def _national(digits: str, region: str) -> str | None:
    """E.164 of `digits` read as a national number of `region`, if that makes a possible number."""
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _international(digits: str) -> str | None:
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    return "+" + digits if phonenumbers.is_possible_number(parsed) else None


@lru_cache(maxsize=65536)
def address(value: str | int | None, region: str | None = None, sender_type: str | None = None) -> str:
    """The stored form of a number or sender id (see the module docstring).

    `region` and `sender_type` come from a spec (`senders.GB: {type: long_code, id: …}`); a
    provider's `to`/`from` has neither, and is read by its shape: `+`, `00` or 9+ digits is a
    number, fewer digits a short code, anything with a letter an alphanumeric id.
    """
    if value is None:
        return ""
    text = str(value).strip()
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00") and compact[2:].isdigit():
        compact = "+" + compact[2:]
    if not _NUMERIC.fullmatch(compact):
        return text  # alphanumeric: as written
    digits = compact.lstrip("+")
    if compact.startswith("+"):
        return "+" + digits
    if sender_type == "short_code" or sender_type == "alphanumeric":
        return digits
    if sender_type in ("long_code", "toll_free") and region and region != "*":
        # "33612345678" for FR is international without +; "0612345678" is national
        if not digits.startswith("0"):
            international = _international(digits)
            code = phonenumbers.country_code_for_region(region.upper())
            if international and code and digits.startswith(str(code)):
                return international
        national = _national(digits, region.upper())
        if national:
            return national
    if len(digits) >= MIN_INTERNATIONAL_DIGITS or sender_type in ("long_code", "toll_free"):
        return "+" + digits
    return digits


def possible_number(stored: str) -> bool:
    """Whether a stored address is an E.164 number of a possible length for its country code.

    Example:
        >>> possible_number("+447700900123"), possible_number("+0612345678"), possible_number("36180")
        (True, False, False)
    """
    if not stored.startswith("+"):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(stored, None))
    except phonenumbers.NumberParseException:
        return False


def key(value: str | int | None, region: str | None = None, sender_type: str | None = None) -> str:
    """The comparison form: `address`, with alphanumeric ids upper-cased.

    Example:
        >>> key("acme") == key("ACME"), key("447700900123") == key("+447700900123")
        (True, True)
    """
    return address(value, region, sender_type).upper()


def is_short_code(stored: str) -> bool:
    """Whether a stored address is a short code (digits without `+`)."""
    return stored.isdigit()


def calling_prefix(region: str | None) -> str | None:
    """`+33` for FR: the numbers of people who can reach a short code of that country.

    Example:
        >>> calling_prefix("FR"), calling_prefix("*"), calling_prefix(None)
        ('+33', None, None)
    """
    if not region or region == "*":
        return None
    code = phonenumbers.country_code_for_region(region.upper())
    return f"+{code}" if code else None
