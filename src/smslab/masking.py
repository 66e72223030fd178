"""Masking phone numbers so that reports are safe to forward.

Keeps the country calling code, the first digit after it and the last two digits:
+33612345678 → '+33 6•• •• •• 78'. `mask_text` finds numbers written inside free text.

Example:
    >>> from smslab.masking import mask_msisdn
    >>> mask_msisdn("+33612345678")
    '+33 6•• •• •• 78'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd


def mask_msisdn(msisdn: str | None) -> str | None:
    """Hide the middle of a phone number: +33612345678 → '+33 6•• •• •• 78'.

    Keeps the country calling code (up to 3 digits), the first digit after it and the last two.

    Example:
        >>> mask_msisdn("+33612345678")
        '+33 6•• •• •• 78'
    """
    if not msisdn or not isinstance(msisdn, str):
        return msisdn
    digits = re.sub(r"\D", "", msisdn)
    if len(digits) < 6:
        return "•" * len(digits)
    import phonenumbers

    try:
        cc = str(phonenumbers.parse("+" + digits).country_code)
    except phonenumbers.NumberParseException:
        cc = digits[:2]
    rest = digits[len(cc) :]
    hidden = rest[0] + "•" * (len(rest) - 3) + rest[-2:]
    head = 4 - len(hidden) % 2  # so that the rest splits into pairs: +33 6•• •• •• 78, +1 4••• •• •• 67
    groups = [hidden[:head]] + [hidden[i : i + 2] for i in range(head, len(hidden), 2)]
    return f"+{cc} " + " ".join(groups)


_PHONE_IN_TEXT = re.compile(r"(?<![\w])\+?\d[\d \-.()]{6,18}\d(?![\w])")
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")


def mask_text(text: str | None) -> str | None:
    """Mask phone numbers written inside free text (replies can carry them).

    Any run of 8 or more digits (spaces, dots, dashes allowed between them) is masked.

    Example:
        >>> mask_text("call me on +33 6 12 34 56 78 please")
        'call me on +33 6•• •• •• 78 please'
    """
    if not text or not isinstance(text, str):
        return text

    def one(m: re.Match[str]) -> str:
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if len(digits) < 8 or _DATE.fullmatch(raw.strip()):
            return raw
        if raw.startswith("+"):
            return mask_msisdn("+" + digits) or ""
        return digits[0] + "•" * (len(digits) - 3) + digits[-2:]  # national format: no country code to keep

    return _PHONE_IN_TEXT.sub(one, text)


def mask_frame(frame: pd.DataFrame, columns: Iterable[str] = ("msisdn",)) -> pd.DataFrame:
    """A copy of `frame` with phone-number columns masked (unique values masked once)."""
    out = frame.copy()
    for col in columns:
        if col in out:
            uniques = out[col].dropna().unique()
            lookup = {u: mask_msisdn(u) for u in uniques}
            out[col] = out[col].map(lookup)
    return out
