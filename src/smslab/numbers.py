"""Phone numbers: phonenumbers' answers, decided in bulk from phonenumbers' own metadata.

`normalize_one` is the reference: phonenumbers called for one input. `normalize` gives the
same answers for many inputs at once: it deduplicates, decides the common shapes (digits with
spaces, dots, dashes and parentheses, written `+CC…`, with the region's IDD prefix or
nationally) with vectorised regular expressions (RE2 through pyarrow) built from
`phonenumbers.PhoneMetadata`, the time-zone and carrier prefix maps, and hands everything
else (letters, extensions, other scripts, errors, regions with prefix transform rules) to
`normalize_one`. See docs/numbers.md.

Example:
    >>> from smslab.numbers import normalize
    >>> normalize(["06 12 34 56 78"], default_region="FR").loc[0, "e164"]
    '+33612345678'
"""
from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneMetadata, carrier
from phonenumbers import phonenumberutil as _pnu
from phonenumbers import timezone as pn_timezone

COLUMNS = ["input", "e164", "region", "valid", "number_type", "time_zones", "carrier", "error"]

_TYPE_NAMES = {
    value: name.lower()
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}


def normalize_one(value: str | None, region: str | None) -> dict:
    """phonenumbers' answer for one input (the reference the fast path must match)."""
    row: dict[str, Any] = {"input": value, "e164": None, "region": None, "valid": False, "number_type": "unknown",
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
    """Normalise phone numbers; one output row per input, in order (columns `COLUMNS`).

    `default_region` is a region code, or a Series of per-row codes, used for numbers
    written without a country calling code. Answers equal `normalize_one` for every input.

    Example:
        >>> normalize(["+254 712 345678", "0612345678"], default_region="FR")["carrier"].tolist()
        ['Safaricom', 'SFR']
    """
    raw = values.tolist() if isinstance(values, pd.Series) else list(values)
    n = len(raw)
    values_obj = pd.Series(raw, dtype=object)
    if n == 0:
        return pd.DataFrame({c: pd.Series(dtype=bool if c == "valid" else object) for c in COLUMNS})
    # deduplicate (value, region) pairs
    if pd.api.types.infer_dtype(raw, skipna=False) == "string":  # only str: Arrow hashes faster
        encoded = pc.dictionary_encode(pa.array(raw, type=pa.string()))
        vcodes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        vuniques = encoded.dictionary
    else:
        vcodes, vuniques = pd.factorize(values_obj, use_na_sentinel=False)
        vuniques = np.asarray(vuniques, dtype=object)
    if isinstance(default_region, pd.Series):
        if len(default_region) != n:
            raise ValueError(f"default_region has {len(default_region)} values for {n} numbers")
        rcodes, runiques = pd.factorize(pd.Series(default_region.tolist(), dtype=object), use_na_sentinel=False)
        runiques = np.array([_region_arg(r) for r in runiques] + [None], dtype=object)
        width = len(runiques)
        codes, pairs = pd.factorize(vcodes.astype(np.int64) * width + rcodes)
        pairs = np.asarray(pairs, dtype=np.int64)
        picked = pairs // width
        u_values = vuniques.take(pa.array(picked)) if isinstance(vuniques, pa.Array) else list(vuniques[picked])
        u_regions = list(runiques[pairs % width])
    else:
        codes = vcodes
        u_values = vuniques if isinstance(vuniques, pa.Array) else list(vuniques)
        u_regions = [_region_arg(default_region)] * len(u_values)
    result = _decide(u_values, u_regions)
    take = np.asarray(codes, dtype=np.int64)
    frame = {"input": pd.Series(raw, dtype=object)}
    for name in COLUMNS[1:]:
        frame[name] = pd.Series(result[name][take], dtype=bool if name == "valid" else object)
    return pd.DataFrame(frame, columns=COLUMNS)


def _region_arg(region) -> str | None:
    if region is None or (isinstance(region, float) and pd.isna(region)) or region is pd.NA:
        return None
    return str(region).upper()


# -- the vectorised path -----------------------------------------------------------------

# shapes decided in bulk: ASCII digits with spaces, dots, dashes and parentheses, either
# "+" then digits, or digits alone (national, or starting with the region's IDD prefix)
_PLUS_SHAPE = r"^ *\+[0-9 ().\-]*$"
_NATIONAL_SHAPE = r"^[ ().\-]*[0-9][0-9 ().\-]*$"
_TYPES = [  # (PhoneMetadata attribute, PhoneNumberType) in _number_type_helper's order
    ("premium_rate", phonenumbers.PhoneNumberType.PREMIUM_RATE),
    ("toll_free", phonenumbers.PhoneNumberType.TOLL_FREE),
    ("shared_cost", phonenumbers.PhoneNumberType.SHARED_COST),
    ("voip", phonenumbers.PhoneNumberType.VOIP),
    ("personal_number", phonenumbers.PhoneNumberType.PERSONAL_NUMBER),
    ("pager", phonenumbers.PhoneNumberType.PAGER),
    ("uan", phonenumbers.PhoneNumberType.UAN),
    ("voicemail", phonenumbers.PhoneNumberType.VOICEMAIL),
]
_UNKNOWN = phonenumbers.PhoneNumberType.UNKNOWN
_FIXED = phonenumbers.PhoneNumberType.FIXED_LINE
_MOBILE = phonenumbers.PhoneNumberType.MOBILE
_FIXED_OR_MOBILE = phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
_CARRIER_TYPES = {_MOBILE, _FIXED_OR_MOBILE, phonenumbers.PhoneNumberType.PAGER}
# _test_number_length results
_TOO_SHORT, _LOCAL_ONLY, _INVALID_LENGTH, _TOO_LONG, _POSSIBLE = 2, 4, 5, 3, 0
_MAX_LEN = 32  # length tables cover 0.._MAX_LEN-1 digits; longer goes to phonenumbers


def _noncapturing(pattern: str) -> str:
    """The same regex with capturing groups made non-capturing (pyarrow's extract wants names)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "(" and not pattern.startswith("(?", i):
            out.append("(?:")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


class _Desc:
    """A PhoneNumberDesc as a full-match regex and a possible-length mask."""

    def __init__(self, desc) -> None:
        self.present = desc is not None
        pattern = desc.national_number_pattern if desc is not None else None
        self.regex = f"^(?:{pattern})$" if pattern else None
        lengths = desc.possible_length if desc is not None else ()
        self.lengths = np.zeros(_MAX_LEN, dtype=bool)
        self.any_length = len(lengths) == 0
        for length in lengths:
            if 0 <= length < _MAX_LEN:
                self.lengths[length] = True

    def allows(self, length: int) -> bool:
        """Could a number of this length match (present, pattern, possible length)?"""
        return self.present and self.regex is not None and (
            self.any_length or (0 <= length < _MAX_LEN and bool(self.lengths[length])))

    def match(self, arr: pa.Array, lengths: np.ndarray, check_length: bool = True) -> np.ndarray:
        """_is_number_matching_desc (check_length) or _match_national_number (not)."""
        if not self.present or self.regex is None:
            return np.zeros(len(arr), dtype=bool)
        ok = self.lengths[lengths] if (check_length and not self.any_length) else np.ones(len(arr), dtype=bool)
        if not ok.any():
            return ok
        idx = np.flatnonzero(ok)
        sub = arr if len(idx) == len(arr) else arr.take(pa.array(idx))
        hit = pc.match_substring_regex(sub, self.regex).to_numpy(zero_copy_only=False)
        ok[idx] = hit
        return ok


class _Region:
    """What the fast path needs from one region's PhoneMetadata."""

    def __init__(self, code: str) -> None:
        md = PhoneMetadata.metadata_for_region_or_calling_code(
            phonenumbers.country_code_for_region(code), code) if code != "001" else None
        if md is None or md.country_code is None:
            raise ValueError(f"no phonenumbers metadata for region {code!r}")
        self.code = code
        self.md = md
        self.cc = md.country_code
        self.cc_str = str(md.country_code)
        self.idd = f"^(?P<p>{_noncapturing(md.international_prefix)})" if md.international_prefix else None
        npfp = md.national_prefix_for_parsing
        self.npfp = f"^(?P<p>{_noncapturing(npfp)})" if npfp else None
        self.transform = bool(md.national_prefix_transform_rule)
        self.npfp_py = re.compile(npfp) if npfp else None
        self.general = _Desc(md.general_desc)
        self.types = [(_Desc(getattr(md, attr)), value) for attr, value in _TYPES]
        self.fixed = _Desc(md.fixed_line)
        self.mobile = _Desc(md.mobile)
        self.same_fixed_mobile = bool(md.same_mobile_and_fixed_line_pattern)
        self.leading = f"^(?:{md.leading_digits})" if md.leading_digits else None
        self._combined: dict[int, tuple] = {}
        self.length_result = np.array([_pnu._test_number_length("0" * k, md) for k in range(_MAX_LEN)], dtype=np.int8)

    def rare(self, length: int) -> tuple[str | None, str | None, list[int]]:
        """For one length: a regex naming each rarer type that allows it, the same without
        names (for a fast yes/no), and the type of each alternative."""
        if length not in self._combined:
            alts, values = [], []
            for desc, value in self.types:
                if desc.allows(length) and desc.regex is not None:  # allows() implies a regex
                    alts.append(_noncapturing(desc.regex[4:-2]))
                    values.append(value)
            if alts:
                named = "^(?:" + "|".join(f"(?P<t{k}>{a})" for k, a in enumerate(alts)) + ")$"
                self._combined[length] = (named, "^(?:" + "|".join(alts) + ")$", values)
            else:
                self._combined[length] = (None, None, [])
        return self._combined[length]

    def strip_national_prefix(self, arr: pa.Array, lengths: np.ndarray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """_maybe_strip_national_prefix_carrier_code: (numbers, lengths, rows to hand back)."""
        n = len(arr)
        giveup = np.zeros(n, dtype=bool)
        if self.npfp is None or n == 0:
            return arr, lengths, giveup
        found = pc.extract_regex(arr, self.npfp)
        matched = found.is_valid().to_numpy(zero_copy_only=False) & (lengths > 0)
        if not matched.any():
            return arr, lengths, giveup
        plen = pc.utf8_length(pc.struct_field(found, [0])).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        special = np.zeros(n, dtype=bool)
        if self.transform and self.npfp_py is not None:  # npfp_py is set whenever npfp is
            # the transform rule applies only where the prefix's last group took part: told by
            # Python's re (as phonenumbers does); those rows use phonenumbers' own function
            values = _strs(arr)
            for i in np.flatnonzero(matched):
                m = self.npfp_py.match(values[i])
                if m is None or not m.groups() or m.groups()[-1] is not None:
                    special[i] = True
                    values[i] = _pnu._maybe_strip_national_prefix_carrier_code(values[i], self.md)[1]
            if special.any():
                matched = matched & ~special
                arr = pa.array(values, type=pa.string())
                lengths = _lengths(arr)
        plen = np.where(matched, plen, 0)
        stripped = _slice_from(arr, plen)
        slen = lengths - plen
        viable = self.general.match(arr, lengths, check_length=False)
        after = self.general.match(stripped, slen, check_length=False)
        keep_original = ~matched | (viable & ~after)
        out = _where(keep_original, arr, stripped)
        return out, np.where(keep_original, lengths, slen), giveup


def _slice_from(arr: pa.Array, starts: np.ndarray) -> pa.Array:
    """Each ASCII string from its own start offset (numpy over Arrow's buffers)."""
    n = len(arr)
    if n == 0:
        return arr
    arr = pa.concat_arrays([arr]) if arr.offset else arr
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]] if arr.buffers()[2] is not None \
        else np.zeros(0, dtype=np.uint8)
    lengths = np.diff(offsets)
    cut = np.minimum(np.asarray(starts, dtype=np.int64), lengths)
    owner = np.repeat(np.arange(n), lengths)
    position = np.arange(len(data)) - (offsets[:-1] - offsets[0])[owner]
    keep = position >= cut[owner]
    new_offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths - cut, out=new_offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offsets), pa.py_buffer(data[keep].tobytes()))


def _digits_only(arr: pa.Array) -> pa.Array:
    """The ASCII digits of each string (numpy over Arrow's UTF-8 buffer; multi-byte characters
    never contain ASCII bytes, so this equals removing every non-digit character)."""
    if arr.null_count:
        arr = arr.fill_null("")
    arr = pa.concat_arrays([arr]) if arr.offset else arr
    if len(arr) == 0:
        return pa.array([], type=pa.string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]] if arr.buffers()[2] is not None \
        else np.zeros(0, dtype=np.uint8)
    keep = (data >= 48) & (data <= 57)
    kept = np.zeros(len(data) + 1, dtype=np.int32)
    np.cumsum(keep.view(np.uint8), dtype=np.int32, out=kept[1:])
    new_offsets = kept[offsets - offsets[0]]
    return pa.StringArray.from_buffers(len(arr), pa.py_buffer(new_offsets), pa.py_buffer(data[keep].tobytes()))


def _strs(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def _lengths(arr: pa.Array) -> np.ndarray:
    return pc.utf8_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)


def _where(mask: np.ndarray, a: pa.Array, b: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask, type=pa.bool_()), a, b)


class _Tables:
    """Everything derived once from phonenumbers' metadata and prefix maps."""

    def __init__(self) -> None:
        self.regions: dict[str, _Region] = {}
        self.supported = set(phonenumbers.SUPPORTED_REGIONS)
        self.cc_regions = {cc: tuple(r) for cc, r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()}
        self.geo_cc = np.zeros(1000, dtype=bool)  # calling codes whose main region is a real region
        for cc, regions in self.cc_regions.items():
            if regions and regions[0] != "001" and regions[0] in self.supported:
                self.geo_cc[cc] = True
        self.region_codes = sorted(self.supported)
        self.region_id = {code: i for i, code in enumerate(self.region_codes)}
        self.main_region_id = np.full(1000, -1, dtype=np.int64)
        for cc, regions in self.cc_regions.items():
            if regions and regions[0] in self.region_id:
                self.main_region_id[cc] = self.region_id[regions[0]]
        self.known_cc = np.zeros(1000, dtype=bool)
        for cc in self.cc_regions:
            self.known_cc[cc] = True
        from phonenumbers.carrierdata import CARRIER_DATA, CARRIER_LONGEST_PREFIX
        from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

        # carrier: _prefix_description_for_number with lang "en" uses the longest prefix that has an
        # English name (a prefix without one falls through to shorter prefixes)
        en = {k: v.get("en") for k, v in CARRIER_DATA.items()}
        en = {k: v for k, v in en.items() if v is not None}
        self.carrier_keys = pa.array(list(en), type=pa.string())
        self.carrier_names = np.array(list(en.values()) + [""], dtype=object)
        self.carrier_longest = CARRIER_LONGEST_PREFIX
        tz_values = list(dict.fromkeys(TIMEZONE_DATA.values()))
        tz_values.append(pn_timezone._UNKNOWN_TIME_ZONE_LIST)
        self.tz_lists = [list(t) for t in tz_values]  # one shared list per distinct answer
        self.tz_index = {t: i for i, t in enumerate(tz_values)}
        self.tz_keys = pa.array(list(TIMEZONE_DATA), type=pa.string())
        self.tz_key_value = np.array([self.tz_index[v] for v in TIMEZONE_DATA.values()]
                                     + [self.tz_index[tz_values[-1]]])
        self.tz_longest = TIMEZONE_LONGEST_PREFIX
        self.tz_unknown = self.tz_index[pn_timezone._UNKNOWN_TIME_ZONE_LIST]
        self.type_names = _TYPE_NAMES

    def region(self, code: str) -> _Region:
        if code not in self.regions:
            self.regions[code] = _Region(code)
        return self.regions[code]

    def country_tz(self, cc: int) -> int:
        answer = pn_timezone._country_level_time_zones_for_number(phonenumbers.PhoneNumber(country_code=cc))
        if answer not in self.tz_index:
            self.tz_index[answer] = len(self.tz_lists)
            self.tz_lists.append(list(answer))
        return self.tz_index[answer]


@functools.lru_cache(maxsize=1)
def _tables() -> _Tables:
    return _Tables()


def _prefix_lookup(digits: pa.Array, keys: pa.Array, longest: int) -> np.ndarray:
    """Index into `keys` of the longest prefix of each string found there (-1: none)."""
    n = len(digits)
    found = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    for length in range(longest, 0, -1):
        if len(todo) == 0:
            break
        sub = digits if len(todo) == n else digits.take(pa.array(todo))
        prefix = pc.utf8_slice_codeunits(sub, 0, length)
        hit = pc.fill_null(pc.index_in(prefix, value_set=keys), -1).to_numpy(zero_copy_only=False).astype(np.int64)
        got = hit >= 0
        found[todo[got]] = hit[got]
        todo = todo[~got]
    return found


def _extract_cc(arr: pa.Array, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """_extract_country_code on digit strings: (calling code or 0, its length)."""
    t = _tables()
    cc = np.zeros(len(arr), dtype=np.int64)
    width = np.zeros(len(arr), dtype=np.int64)
    first_zero = pc.starts_with(arr, "0").to_numpy(zero_copy_only=False)
    for k in (1, 2, 3):
        num = pc.cast(pc.if_else(pa.array(lengths >= k), pc.utf8_slice_codeunits(arr, 0, k), "0"), pa.int64())
        head = np.where(first_zero, 0, num.to_numpy(zero_copy_only=False))
        hit = (cc == 0) & (head > 0) & t.known_cc[np.clip(head, 0, 999)]
        cc[hit] = head[hit]
        width[hit] = k
    return cc, width


_PLUS_RE = re.compile(_PLUS_SHAPE)
_NATIONAL_RE = re.compile(_NATIONAL_SHAPE)
# other decimal digits phonenumbers reads as digits: fullwidth, Arabic-Indic, Persian
_DIGIT_MAP = {**{0xFF10 + k: str(k) for k in range(10)}, **{0x0660 + k: str(k) for k in range(10)},
              **{0x06F0 + k: str(k) for k in range(10)}, 0xFF0B: "+"}


def _preamble(text: str) -> str | None:
    """phonenumbers.parse's first steps, with its own helpers: the possible number without
    leading text or extension and with ASCII digits, or None when it is not viable."""
    if ";" in text:  # RFC 3966 parameters: left to phonenumbers
        return None
    core = _pnu._build_national_number_for_parsing(text)
    if not _pnu._is_viable_phone_number(core):
        return None
    _, core = _pnu._maybe_strip_extension(core)
    return core.translate(_DIGIT_MAP)


def _decide(values: Any, regions: list) -> dict[str, np.ndarray]:
    """Answers for unique (value, region) pairs: fast where certain, else normalize_one."""
    t = _tables()
    n = len(values)
    out = {
        "e164": np.full(n, None, dtype=object), "region": np.full(n, None, dtype=object),
        "valid": np.zeros(n, dtype=bool), "number_type": np.full(n, "unknown", dtype=object),
        "time_zones": np.empty(n, dtype=object), "carrier": np.full(n, "", dtype=object),
        "error": np.full(n, None, dtype=object),
    }
    as_arrow = isinstance(values, pa.Array)
    if as_arrow or pd.api.types.infer_dtype(values, skipna=False) == "string":
        is_str = np.ones(n, dtype=bool)
    else:
        is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=n)
    region_arr = np.array(regions, dtype=object)
    rcodes, runiques = pd.factorize(pd.Series(region_arr, dtype=object), use_na_sentinel=False)
    region_ok = np.array([_region_arg(r) is None or r in t.supported for r in runiques], dtype=bool)[rcodes]
    fast = is_str & region_ok
    idx = np.flatnonzero(fast)
    done = np.zeros(n, dtype=bool)
    if len(idx) and os.environ.get("SMSLAB_NUMBERS_FAST", "1") != "0":
        arr: pa.Array
        if as_arrow:
            arr = values.take(pa.array(idx)) if len(idx) != n else values
        else:
            arr = pa.array([values[i] for i in idx] if len(idx) != n else values, type=pa.string())
        short = pc.less_equal(pc.utf8_length(arr), 250).to_numpy(zero_copy_only=False)  # parse's input limit
        if not short.all():
            idx, arr = idx[short], arr.filter(pa.array(short))
        plus = pc.match_substring_regex(arr, _PLUS_SHAPE).to_numpy(zero_copy_only=False)
        national = pc.match_substring_regex(arr, _NATIONAL_SHAPE).to_numpy(zero_copy_only=False)
        other = np.flatnonzero(~(plus | national))
        if len(other):  # prefixes like "tel:", extensions, other digits: phonenumbers' own first steps
            texts = _strs(arr.take(pa.array(other)))
            for j, text in enumerate(texts):
                core = _preamble(text)
                if core is not None:
                    texts[j] = core
                    plus[other[j]] = _PLUS_RE.match(core) is not None
                    national[other[j]] = _NATIONAL_RE.match(core) is not None
            mask = np.zeros(len(arr), dtype=bool)
            mask[other] = True
            arr = pc.replace_with_mask(arr, pa.array(mask), pa.array(texts, type=pa.string()))
        national &= np.array([r is not None for r in region_arr[idx]], dtype=bool)
        shaped = plus | national
        idx, plus = idx[shaped], plus[shaped]
        arr = arr.filter(pa.array(shaped))
        digits = _digits_only(arr)
        ndig = pc.utf8_length(digits).to_numpy(zero_copy_only=False).astype(np.int64)
        enough = ndig >= 3  # viable; exactly-two-digit inputs go to phonenumbers
        idx, plus, digits, ndig = idx[enough], plus[enough], digits.filter(pa.array(enough)), ndig[enough]
        parsed = _parse(idx, plus, digits, ndig, region_arr)
        if parsed is not None:
            rows, cc, nsn = parsed
            _classify(rows, cc, nsn, out)
            done[rows] = True
    for i in np.flatnonzero(~done):
        row = normalize_one(values[i].as_py() if as_arrow else values[i], regions[i])
        for key in out:
            out[key][i] = row[key]
    return out


def _parse(idx, plus, digits, ndig, region_arr):
    """phonenumbers.parse for the bulk shapes: (rows, calling code, national significant number)."""
    t = _tables()
    n = len(idx)
    if n == 0:
        return None
    cc = np.zeros(n, dtype=np.int64)
    giveup = np.zeros(n, dtype=bool)
    meta = np.full(n, -1, dtype=np.int64)  # id of the region whose metadata applies
    part_rows: list[np.ndarray] = []  # national numbers found so far, by row
    part_values: list[pa.Array] = []

    def take_cc(rows: np.ndarray, rest: pa.Array) -> None:
        """Country code from digits after + or IDD; errors and non-geographic codes go back."""
        rlen = _lengths(rest)
        c, w = _extract_cc(rest, rlen)
        bad = (rlen <= 2) | (c == 0) | ~t.geo_cc[np.clip(c, 0, 999)]
        giveup[rows[bad]] = True
        good = np.flatnonzero(~bad)
        cc[rows[good]] = c[good]
        part_rows.append(rows[good])
        part_values.append(_slice_from(rest.take(pa.array(good)), w[good]))
        meta[rows[good]] = t.main_region_id[c[good]]

    prows = np.flatnonzero(plus)
    if len(prows):
        take_cc(prows, digits.take(pa.array(prows)))
    nrows = np.flatnonzero(~plus)
    rcodes, runiques = pd.factorize(region_arr[idx][nrows]) if len(nrows) else (np.array([], dtype=np.int64), [])
    for k, code in enumerate(runiques):
        rows = nrows[rcodes == k]
        reg = t.region(code)
        d = digits.take(pa.array(rows))
        lens = ndig[rows]
        via_idd = np.zeros(len(rows), dtype=bool)
        if reg.idd is not None:
            found = pc.extract_regex(d, reg.idd)
            matched = found.is_valid().to_numpy(zero_copy_only=False)
            if matched.any():
                plen = _lengths(pc.struct_field(found, [0]).fill_null(""))
                sel = np.flatnonzero(matched)
                rest = _slice_from(d.take(pa.array(sel)), plen[sel])
                idd = ~pc.starts_with(rest, "0").to_numpy(zero_copy_only=False)  # IDD then 0 is no IDD
                via_idd[sel[idd]] = True
                if idd.any():
                    take_cc(rows[sel[idd]], rest.filter(pa.array(idd)))
        home = np.flatnonzero(~via_idd)
        if len(home) == 0:
            continue
        hrows = rows[home]
        hd = d.take(pa.array(home)) if len(home) != len(rows) else d
        hl = lens[home]
        cc[hrows] = reg.cc
        meta[hrows] = t.region_id[code]
        # a national number that starts with the region's own calling code, without + or IDD
        starts = pc.starts_with(hd, reg.cc_str).to_numpy(zero_copy_only=False)
        if starts.any():
            sel = np.flatnonzero(starts)
            full = hd.take(pa.array(sel))
            full_len = hl[sel]
            k = len(reg.cc_str)
            pot = pc.utf8_slice_codeunits(full, k)
            pot, pot_len, back = reg.strip_national_prefix(pot, full_len - k)
            cond = (~reg.general.match(full, full_len, check_length=False)
                    & reg.general.match(pot, pot_len, check_length=False)) \
                | (reg.length_result[np.clip(full_len, 0, _MAX_LEN - 1)] == _TOO_LONG) | (full_len >= _MAX_LEN)
            giveup[hrows[sel[back]]] = True
            use = cond & ~back
            if use.any():
                mask = np.zeros(len(home), dtype=bool)
                mask[sel[use]] = True
                hd = pc.replace_with_mask(hd, pa.array(mask), pot.filter(pa.array(use)))
                meta[hrows[sel[use]]] = t.main_region_id[reg.cc]
        part_rows.append(hrows)
        part_values.append(hd)
    if not part_rows:
        return None
    found_rows = np.concatenate(part_rows)
    found_values = pa.concat_arrays([v.cast(pa.string()) for v in part_values])
    where = np.full(n, -1, dtype=np.int64)
    where[found_rows] = np.arange(len(found_rows))
    giveup |= where < 0
    # national prefix stripping with the metadata that applies, kept when the length allows
    okrows = np.flatnonzero(~giveup)
    mcodes, muniques = pd.factorize(meta[okrows])
    out_rows: list[np.ndarray] = []
    out_values: list[pa.Array] = []
    for k, rid in enumerate(muniques):
        rows = okrows[mcodes == k]
        reg = t.region(t.region_codes[rid])
        arr = found_values.take(pa.array(where[rows]))
        lens = _lengths(arr)
        stripped, slen, back = reg.strip_national_prefix(arr, lens)
        result = reg.length_result[np.clip(slen, 0, _MAX_LEN - 1)]
        use = ~np.isin(result, [_TOO_SHORT, _LOCAL_ONLY, _INVALID_LENGTH]) & (slen < _MAX_LEN)
        final = _where(use, stripped, arr)
        flen = _lengths(final)
        zeros = pc.match_substring_regex(final, "^0*$").to_numpy(zero_copy_only=False)
        bad = (lens < 2) | back | (flen < 2) | (flen > 17) | zeros
        good = ~bad
        out_rows.append(rows[good])
        out_values.append(final.filter(pa.array(good)))
    if not out_rows:
        return None
    rows = np.concatenate(out_rows)
    values = pa.concat_arrays(out_values)
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    return idx[rows], cc[rows], values.take(pa.array(order))


def _number_types(reg: _Region, arr: pa.Array, lens: np.ndarray) -> np.ndarray:
    """_number_type_helper for one region's metadata, per number length.

    The rarer types (premium rate … voicemail) that allow the length are first tested together
    as one regex; only rows matching it are told apart (first alternative in
    _number_type_helper's order wins). The rest are tested for fixed line and mobile.
    """
    n = len(arr)
    types = np.full(n, _UNKNOWN, dtype=np.int64)
    general = reg.general.match(arr, lens)
    if not general.any():
        return types
    for length in np.unique(lens[general]):
        rows = np.flatnonzero(general & (lens == length))
        sub = arr.take(pa.array(rows)) if len(rows) != n else arr
        got = np.full(len(rows), _UNKNOWN, dtype=np.int64)
        named, plain, values = reg.rare(int(length))
        rare = np.zeros(len(rows), dtype=bool)
        if plain is not None:
            rare = pc.match_substring_regex(sub, plain).to_numpy(zero_copy_only=False)
            if rare.any():
                ri = np.flatnonzero(rare)
                found = pc.extract_regex(sub.take(pa.array(ri)), named)
                which = np.full(len(ri), _UNKNOWN, dtype=np.int64)
                for k in range(len(values) - 1, -1, -1):  # the first alternative that matched wins
                    which[_lengths(pc.struct_field(found, [k]).fill_null("")) > 0] = values[k]
                got[ri] = which
        rest = np.flatnonzero(~rare)
        if len(rest):
            rsub = sub.take(pa.array(rest)) if len(rest) != len(rows) else sub
            rlen = np.full(len(rest), length)
            fixed = reg.fixed.match(rsub, rlen)
            if reg.same_fixed_mobile:
                got[rest[fixed]] = _FIXED_OR_MOBILE
            else:
                mobile = reg.mobile.match(rsub, rlen)
                got[rest[fixed & mobile]] = _FIXED_OR_MOBILE
                got[rest[fixed & ~mobile]] = _FIXED
                got[rest[~fixed & mobile]] = _MOBILE
        types[rows] = got
    return types


def _classify(rows: np.ndarray, cc: np.ndarray, nsn: pa.Array, out: dict) -> None:
    """region_code_for_number, is_valid_number, number_type, time zones and carrier."""
    t = _tables()
    m = len(rows)
    arr = nsn
    lens = _lengths(arr)
    region = np.full(m, -1, dtype=np.int64)  # region id; -1: none
    types = np.full(m, _UNKNOWN, dtype=np.int64)
    for code in np.unique(cc):
        sel = np.flatnonzero(cc == code)
        sub = arr.take(pa.array(sel)) if len(sel) != m else arr
        sl = lens[sel]
        candidates = t.cc_regions[int(code)]
        if len(candidates) == 1:
            region[sel] = t.region_id[candidates[0]]
            types[sel] = _number_types(t.region(candidates[0]), sub, sl)
            continue
        todo = np.ones(len(sel), dtype=bool)
        for rcode in candidates:
            if not todo.any():
                break
            reg = t.region(rcode)
            if reg.leading is not None:
                hit = todo & pc.match_substring_regex(sub, reg.leading).to_numpy(zero_copy_only=False)
            else:
                hit = todo & (_number_types(reg, sub, sl) != _UNKNOWN)
            if hit.any():
                region[sel[hit]] = t.region_id[rcode]
                types[sel[hit]] = _number_types(reg, sub.filter(pa.array(hit)), sl[hit])
            todo &= ~hit
    digits = pc.binary_join_element_wise(pc.cast(pa.array(cc), pa.string()), arr, "")
    e164 = _strs(pc.binary_join_element_wise("+", digits, ""))
    # time zones: unknown type -> Etc/Unknown; non-geographic types -> the calling code's zones
    tz = np.full(m, t.tz_unknown, dtype=np.int64)
    known = types != _UNKNOWN
    pair = cc * 100 + types  # is_number_type_geographical depends on (calling code, type) only
    geo_pairs = [int(k) for k in np.unique(pair[known])
                 if _pnu.is_number_type_geographical(int(k) % 100, int(k) // 100)]
    geo = known & np.isin(pair, geo_pairs)
    if geo.any():
        gi = np.flatnonzero(geo)
        hit = _prefix_lookup(digits.take(pa.array(gi)), t.tz_keys, t.tz_longest)
        tz[gi] = t.tz_key_value[hit]  # -1 picks the appended unknown entry
    country = known & ~geo
    if country.any():
        per_cc = np.full(1000, t.tz_unknown, dtype=np.int64)
        for c in np.unique(cc[country]):
            per_cc[c] = t.country_tz(int(c))
        tz[country] = per_cc[cc[country]]
    names = np.full(m, "", dtype=object)
    mobile_like = np.isin(types, list(_CARRIER_TYPES))
    if mobile_like.any():
        mi = np.flatnonzero(mobile_like)
        hit = _prefix_lookup(digits.take(pa.array(mi)), t.carrier_keys, t.carrier_longest)
        names[mi] = t.carrier_names[hit]
    valid = (types != _UNKNOWN) & (region >= 0)
    region_names = np.array(t.region_codes + [None], dtype=object)  # index -1 -> None
    tz_lists = np.empty(len(t.tz_lists), dtype=object)
    tz_lists[:] = t.tz_lists
    out["e164"][rows] = e164
    out["region"][rows] = region_names[region]
    out["valid"][rows] = valid
    out["number_type"][rows] = np.array([t.type_names.get(x, "unknown") for x in range(100)], dtype=object)[types]
    out["time_zones"][rows] = tz_lists[tz]
    out["carrier"][rows] = names
    out["error"][rows] = np.where(valid, np.array(None, dtype=object), "not a valid number")  # None, as the stubs allow


# -- files ---------------------------------------------------------------------------------

def normalize_file(file: str | os.PathLike[str], *, column: str, region: str | None = None,
                   out: str | os.PathLike[str] | None = None) -> dict:
    """Normalise one column of a CSV or Parquet file; optionally write the result (CSV or Parquet).

    The output keeps every column of the input, as read, followed by the normalisation columns
    (e164, region, valid, number_type, time_zones, carrier, error; one that an input column
    already uses gets the suffix `_normalized`). It never replaces the input file.

    Returns the counts `{"rows": N, "valid": N, "invalid": N}`.

    Example:
        >>> # skipped in the tests: needs your audience.csv, and writes clean.parquet
        >>> normalize_file("audience.csv", column="msisdn", region="FR", out="clean.parquet")  # doctest: +SKIP
        {'rows': 3, 'valid': 2, 'invalid': 1}
    """
    from pathlib import Path

    from smslab.errors import InputError

    path = Path(file)
    if region is not None and str(region).upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InputError(f"--region {region!r}: expected a two-letter region code such as FR, US or KE")
    if not path.is_file():
        raise InputError(f"{file}: no such file; check the path")
    out_kind = None
    if out is not None:
        out_kind = Path(out).suffix.lower().lstrip(".")
        if out_kind not in ("csv", "parquet", "pq"):
            raise InputError(f"{out}: the output must end in .csv or .parquet")
        if Path(out).resolve() == path.resolve() or (Path(out).exists() and os.path.samefile(out, path)):
            raise InputError(f"--out {out}: is the input file; write the result to another file "
                             f"(e.g. --out {path.with_name(path.stem + '-normalized' + path.suffix)})")
        if Path(out).is_dir():
            raise InputError(f"--out {out}: is a folder; give a file name ending in .csv or .parquet")
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            names = pq.ParquetFile(path).schema_arrow.names
        except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
            raise InputError(f"{file}: cannot read it as Parquet ({exc})") from None
        if column not in names:
            raise InputError(f"{file}: no column {column!r}; found {', '.join(map(repr, names))}")
        series = pq.read_table(path, columns=[column]).column(column).to_pandas()

        def whole() -> pd.DataFrame:
            return pq.read_table(path).to_pandas()
        series = series.astype(object).where(series.notna(), None).map(lambda v: v if v is None else str(v))
    else:
        try:
            series = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False,
                                 encoding="utf-8")[column]
        except UnicodeDecodeError:
            raise InputError(f"{file}: the file is not UTF-8 text; re-save it as CSV UTF-8") from None
        except ValueError as exc:
            if "Usecols" in str(exc) or "not in list" in str(exc) or "do not match" in str(exc):
                header = list(pd.read_csv(path, nrows=0, encoding="utf-8", encoding_errors="replace").columns)
                hint = ""
                if len(header) == 1 and (delim := next((d for d in ";\t|" if d in str(header[0])), None)):
                    hint = f"; the header looks separated by {delim!r}: save the file as CSV with commas"
                raise InputError(f"{file}: no column {column!r}; found {', '.join(map(repr, header))}{hint}") from None
            raise InputError(f"{file}: cannot read it as CSV ({exc})") from None
        except pd.errors.EmptyDataError:
            raise InputError(f"{file}: the file is empty; expected a header line naming {column!r}") from None
        except pd.errors.ParserError as exc:
            raise InputError(f"{file}: cannot read it as CSV ({str(exc).strip()})") from None

        def whole() -> pd.DataFrame:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")

    result = normalize(series, default_region=region)
    if out is not None:
        if not Path(out).parent.is_dir():
            raise InputError(f"--out {out}: the folder {Path(out).parent} does not exist; create it first")
        original = whole().reset_index(drop=True)
        added = result.drop(columns=["input"]).reset_index(drop=True)
        taken, names = set(original.columns), []
        for name in added.columns:
            candidate, n = name, 1
            while candidate in taken:
                candidate, n = f"{name}_normalized{n if n > 1 else ''}", n + 1
            taken.add(candidate)
            names.append(candidate)
        added.columns = names
        table = pd.concat([original, added], axis=1)
        if out_kind == "csv":
            zones = names[list(result.drop(columns=["input"]).columns).index("time_zones")]
            table[zones] = table[zones].map(lambda z: "|".join(z))
            table.to_csv(out, index=False)
        else:
            table.to_parquet(out, index=False)
    valid = int(result["valid"].sum())
    return {"rows": len(result), "valid": valid, "invalid": len(result) - valid}
