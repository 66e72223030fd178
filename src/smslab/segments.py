"""GSM-7 / UCS-2 encoding and segment counts (3GPP TS 23.038).

Example:
    >>> from smslab.segments import count
    >>> count("Hello").segments
    1
"""
from __future__ import annotations

from dataclasses import dataclass, field

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
_BASIC = set(GSM_BASIC) - {"\x1b"}
_EXT = set(GSM_EXTENSION)


@dataclass(frozen=True)
class SegmentCount:
    """How a text is encoded and how many SMS parts it takes."""

    encoding: str
    segments: int
    units: int
    non_gsm: list[str] = field(default_factory=list)


def count(text: str) -> SegmentCount:
    """Encoding, segments, units (septets or UTF-16 code units) and the characters forcing UCS-2."""
    non_gsm = sorted({ch for ch in text if ch not in _BASIC and ch not in _EXT})
    if not non_gsm:
        sizes = [2 if ch in _EXT else 1 for ch in text]
        single, multi = 160, 153
        encoding = "GSM-7"
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, multi = 70, 67
        encoding = "UCS-2"
    units = sum(sizes)
    if units == 0:
        return SegmentCount(encoding, 0, 0, non_gsm)
    if units <= single:
        return SegmentCount(encoding, 1, units, non_gsm)
    parts, used = 1, 0
    for size in sizes:  # never split an escape pair or a surrogate pair
        if used + size > multi:
            parts += 1
            used = 0
        used += size
    return SegmentCount(encoding, parts, units, non_gsm)
