"""GSM-7 / UCS-2 encoding, segment counts and a GSM-safe rewrite (3GPP TS 23.038).

One non-GSM character switches the whole message to UCS-2: 160 → 70 characters for one
SMS, 153 → 67 per part once concatenated. Extension-table characters (``€ [ ] { } ^ ~ | \\``
and form feed) cost two septets (ESC + code), emoji outside the BMP two UTF-16 code units,
and a part never splits either pair.

Example:
    >>> from smslab.segments import count, gsm_safe
    >>> count("Hello")
    SegmentCount(encoding='GSM-7', segments=1, units=5, non_gsm=[])
    >>> count("Prix : 10€").units          # € is ESC + 0x65: two septets
    11
    >>> count("Café ’best’").encoding     # the curly quote forces UCS-2
    'UCS-2'
    >>> gsm_safe("It’s “great” – really…").text
    'It\\'s "great" - really...'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa  # imported lazily at run time (see _exact_parts)

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet, positions 0x00-0x7F (0x1B is the escape to the extension table).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: FF ^ { } \ [ ~ ] | € — each costs ESC + code = 2 septets.
GSM_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM_BASIC) - {"\x1b"}
_EXT = frozenset(GSM_EXTENSION)
_GSM = _BASIC | _EXT

SINGLE = {GSM7: 160, UCS2: 70}
"""Units that fit in one unconcatenated SMS."""
MULTI = {GSM7: 153, UCS2: 67}
"""Units per part of a concatenated SMS (a 6-octet UDH takes the rest)."""

_NON_GSM_RE = re.compile("[^" + "".join(re.escape(c) for c in sorted(_GSM)) + "]")
_EXT_RE = re.compile("[" + "".join(re.escape(c) for c in GSM_EXTENSION) + "]")
_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class SegmentCount:
    """How a text is encoded and how many SMS parts it takes.

    ``units`` are septets for GSM-7 and UTF-16 code units for UCS-2; ``non_gsm`` lists the
    characters that forced UCS-2 (sorted, each once).
    """

    encoding: str
    segments: int
    units: int
    non_gsm: list[str] = field(default_factory=list)


def _greedy_parts(sizes: Iterable[int], per_part: int) -> int:
    """Parts needed when no 2-unit item may straddle a part boundary."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts += 1
            used = 0
        used += size
    return parts


def count(text: str) -> SegmentCount:
    """Encoding, segments, units and the characters forcing UCS-2 of one text.

    Example:
        >>> count("a" * 160).segments, count("a" * 161).segments
        (1, 2)
        >>> count("").segments
        0
    """
    non_gsm = sorted(set(_NON_GSM_RE.findall(text)))
    if not non_gsm:
        encoding = GSM7
        doubles = len(_EXT_RE.findall(text))
    else:
        encoding = UCS2
        doubles = len(_ASTRAL_RE.findall(text))
    units = len(text) + doubles
    if units == 0:
        return SegmentCount(encoding, 0, 0, non_gsm)
    if units <= SINGLE[encoding]:
        return SegmentCount(encoding, 1, units, non_gsm)
    per_part = MULTI[encoding]
    if doubles == 0:
        return SegmentCount(encoding, -(-units // per_part), units, non_gsm)
    if encoding == GSM7:
        sizes = (2 if ch in _EXT else 1 for ch in text)
    else:
        sizes = (2 if ord(ch) > 0xFFFF else 1 for ch in text)
    return SegmentCount(encoding, _greedy_parts(sizes, per_part), units, non_gsm)


def split(text: str) -> list[str]:
    """The parts a text is sent as (never splitting an escape pair or a surrogate pair).

    Example:
        >>> [len(p) for p in split("a" * 152 + "€" + "b" * 10)]   # € would straddle the cut
        [152, 11]
    """
    info = count(text)
    if info.segments <= 1:
        return [text] if text else []
    per_part = MULTI[info.encoding]

    def size(ch: str) -> int:
        if info.encoding == GSM7:
            return 2 if ch in _EXT else 1
        return 2 if ord(ch) > 0xFFFF else 1

    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        s = size(ch)
        if used + s > per_part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += s
    parts.append("".join(current))
    return parts


# ---------------------------------------------------------------------------------------------
# Vectorised form
# ---------------------------------------------------------------------------------------------


def _re2_class(chars: Iterable[str]) -> str:
    return "".join(f"\\x{{{ord(c):X}}}" for c in sorted(chars))


_RE2_NON_GSM = f"[^{_re2_class(_GSM)}]"
_RE2_EXT = f"[{_re2_class(_EXT)}]"
_RE2_ASTRAL = r"[\x{10000}-\x{10FFFF}]"


def _units_lut(gsm: bool) -> np.ndarray:
    """Units contributed by each UTF-8 byte: 0 for continuation bytes, 2 for the lead byte of an
    extension character (GSM-7) or of a character outside the BMP (UCS-2), else 1."""
    lut = np.ones(256, dtype=np.int32)
    lut[0x80:0xC0] = 0
    if gsm:
        # In a text that is all GSM, every extension character is ASCII except €, the only
        # GSM character encoded with lead byte 0xE2 (U+20AC).
        for ch in GSM_EXTENSION:
            lut[ch.encode("utf-8")[0]] = 2
    else:
        lut[0xF0:0xF8] = 2
    return lut


_LUT = {True: _units_lut(True), False: _units_lut(False)}


def _exact_parts(arr: pa.Array, per_part: int, gsm: bool, chunk_rows: int = 100_000) -> np.ndarray:
    """Exact greedy part counts of many texts (an Arrow string array without nulls) at once.

    Works on the UTF-8 buffer: a cumulative sum of units per byte gives every row's unit range and
    the unit where each 2-unit character starts; each step cuts every live row after `per_part`
    units, or one unit earlier when a 2-unit character would straddle the cut.
    """
    import pyarrow as pa

    out = np.empty(len(arr), dtype=np.int64)
    lut = _LUT[gsm]
    for lo in range(0, len(arr), chunk_rows):
        chunk = arr.slice(lo, chunk_rows)
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        raw_offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
        offsets = raw_offsets.astype(np.int64)
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        offsets -= offsets[0]
        per_byte = lut[data]
        cum = np.empty(len(data) + 1, dtype=np.int64)
        cum[0] = 0
        np.cumsum(per_byte, out=cum[1:])
        pair_starts = cum[:-1][per_byte == 2]  # sorted unit positions where a 2-unit character starts
        row_end = cum[offsets[1:]]
        pos = cum[offsets[:-1]].copy()
        parts = np.zeros(len(chunk), dtype=np.int64)
        active = np.flatnonzero(row_end > pos)
        while active.size:
            parts[active] += 1
            cut = pos[active] + per_part
            live = cut < row_end[active]
            active, cut = active[live], cut[live]
            if pair_starts.size:
                k = np.minimum(np.searchsorted(pair_starts, cut - 1), pair_starts.size - 1)
                cut = cut - (pair_starts[k] == cut - 1)
            pos[active] = cut
        out[lo : lo + len(chunk)] = parts
    return out


def count_series(texts: pd.Series | Iterable[str], *, with_non_gsm: bool = False) -> pd.DataFrame:
    """`count` over many texts at once: a frame with encoding, segments and units (same index).

    Built on Arrow string kernels and numpy; identical answers to calling `count` per text.
    Missing values count as empty text (0 segments). ``with_non_gsm=True`` adds the list of
    characters forcing UCS-2 per row (computed once per distinct UCS-2 text).

    Example:
        >>> import pandas as pd
        >>> count_series(pd.Series(["Hi Ana", "Hi Zoë 😀", ""])).segments.tolist()
        [1, 1, 0]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    try:  # zero-copy for pandas' Arrow-backed strings (the default `str` dtype in pandas 3)
        arr = pa.array(series)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(series.astype(object).where(series.notna(), "").astype(str), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array(series.astype(object).where(series.notna(), "").astype(str), type=pa.large_string())
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    length = pc.utf8_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    ucs2 = pc.match_substring_regex(arr, _RE2_NON_GSM).to_numpy(zero_copy_only=False)
    # 2-unit characters: extension characters in GSM-7 rows, characters outside the BMP in UCS-2 rows
    doubles = np.zeros(len(arr), dtype=np.int64)
    for is_ucs2, pattern in ((False, _RE2_EXT), (True, _RE2_ASTRAL)):
        mask = ucs2 == is_ucs2
        if mask.any():
            found = pc.count_substring_regex(arr.filter(pa.array(mask)), pattern)
            doubles[mask] = found.to_numpy(zero_copy_only=False)
    units = length + doubles
    single = np.where(ucs2, SINGLE[UCS2], SINGLE[GSM7])
    per_part = np.where(ucs2, MULTI[UCS2], MULTI[GSM7])
    segments = np.where(units == 0, 0, np.where(units <= single, 1, -(-units // per_part)))
    for is_ucs2 in (False, True):
        rows = np.flatnonzero((ucs2 == is_ucs2) & (units > single) & (doubles > 0))
        if rows.size:
            enc = UCS2 if is_ucs2 else GSM7
            segments[rows] = _exact_parts(arr.take(pa.array(rows)), MULTI[enc], gsm=not is_ucs2)
    frame = pd.DataFrame(
        {
            "encoding": pd.Categorical.from_codes(ucs2.astype(np.int8), categories=[GSM7, UCS2]),
            "segments": segments.astype(np.int64),
            "units": units,
        },
        index=series.index,
    )
    if with_non_gsm:
        cache: dict[str, list[str]] = {}
        values = arr.to_pylist()
        frame["non_gsm"] = [
            (cache.setdefault(t, sorted(set(_NON_GSM_RE.findall(t)))) if u else [])
            for t, u in zip(values, ucs2, strict=False)
        ]
    return frame


# ---------------------------------------------------------------------------------------------
# GSM-safe rewrite
# ---------------------------------------------------------------------------------------------

# Typography that has a GSM-7 equivalent (after Twilio's "smart encoding" map, wire-formats.md §3).
_SAFE_MAP: dict[str, str] = {
    **dict.fromkeys("“”„‟«»″〝〞＂", '"'),
    **dict.fromkeys("‘’‚‛´`′＇", "'"),
    **dict.fromkeys("–—‐‑‒―−﹘﹣－", "-"),
    "…": "...",
    **dict.fromkeys(
        "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t", " "
    ),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
    "•": "-",
    "‹": "<",
    "›": ">",
    "ˆ": "^",
    "˜": "~",
}
# Fullwidth ASCII (U+FF01-U+FF5E) → ASCII.
_SAFE_MAP.update({chr(cp): chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F) if chr(cp) not in _SAFE_MAP})
_SAFE_TABLE = str.maketrans(_SAFE_MAP)


@dataclass(frozen=True)
class SafeText:
    """The result of `gsm_safe`: the rewritten text, counts before and after, and what changed."""

    text: str
    before: SegmentCount
    after: SegmentCount
    replaced: list[str]

    @property
    def saved(self) -> int:
        """Segments saved per message (never negative: the rewrite is kept only if it does not cost more)."""
        return self.before.segments - self.after.segments


def _transliterate(ch: str) -> str:
    """A non-GSM letter without its accent when the bare letter is GSM (á → a, ê → e, ç → c)."""
    base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    return base if base and all(c in _GSM for c in base) else ch


def gsm_safe(text: str, *, transliterate: bool = False) -> SafeText:
    """Rewrite typography (smart quotes, dashes, ellipsis, odd spaces, zero-width marks, fullwidth
    ASCII, TAB) to GSM-7 and report the segments saved.

    With ``transliterate=True`` accented letters outside GSM 03.38 lose their accent too
    (á → a, ê → e, ç → c), which changes the wording: off by default. Letters that are in the
    GSM alphabet (é è à ù ì ò Ç Ä Ö Ñ Ü …) are never touched.

    Example:
        >>> r = gsm_safe("Black Friday – 30 % off… " + "x" * 60 + " ’STOP’ to 36180")
        >>> (r.before.encoding, r.before.segments, r.after.encoding, r.after.segments, r.saved)
        ('UCS-2', 2, 'GSM-7', 1, 1)
    """
    before = count(text)
    if not before.non_gsm:
        return SafeText(text, before, before, [])
    rewritten = text.translate(_SAFE_TABLE)
    if transliterate:
        rewritten = "".join(ch if ch in _GSM else _transliterate(ch) for ch in rewritten)
    replaced = sorted({ch for ch in before.non_gsm if ch not in rewritten})
    after = count(rewritten)
    if after.segments > before.segments:  # e.g. "…" → "..." lengthens a text that stays UCS-2
        return SafeText(text, before, before, [])
    return SafeText(rewritten, before, after, replaced)


def gsm_safe_series(texts: pd.Series, *, transliterate: bool = False) -> pd.Series:
    """`gsm_safe(...).text` over a Series (computed once per distinct text).

    Example:
        >>> import pandas as pd
        >>> gsm_safe_series(pd.Series(["Don’t", "ok"])).tolist()
        ["Don't", 'ok']
    """
    cache: dict[str, str] = {}

    def one(t: object) -> object:
        if not isinstance(t, str):
            return t
        if t not in cache:
            cache[t] = gsm_safe(t, transliterate=transliterate).text
        return cache[t]

    return texts.map(one)


# ---------------------------------------------------------------------------------------------
# Country limits
# ---------------------------------------------------------------------------------------------


def segment_limit(country: str, sender_type: str | None = None, *, ruleset: Any = None) -> int | None:
    """The country's maximum number of parts (rules dataset ``limits.max_segments``), or None.

    ``sender_type`` is accepted for limits that differ by sender (the dataset keeps one per
    country today). A country the dataset does not cover has no limit we know of.

    Example:
        >>> segment_limit("ZZ") is None
        True
    """
    try:
        from smslab import rules
    except ImportError:  # pragma: no cover - the rules package ships with smslab
        return None
    rs = ruleset if ruleset is not None else rules.load()
    entry = rs.get(country.upper()) if country else None
    limits = getattr(entry, "limits", None)
    limit = getattr(limits, "max_segments", None)
    return int(limit) if limit is not None else None


def over_limit(
    text: str, country: str, sender_type: str | None = None, *, ruleset: Any = None
) -> tuple[bool, int | None]:
    """Whether a text needs more parts than the country allows: (over, limit).

    Example:
        >>> over_limit("hello", "ZZ")
        (False, None)
    """
    limit = segment_limit(country, sender_type, ruleset=ruleset)
    if limit is None:
        return False, None
    return count(text).segments > limit, limit
