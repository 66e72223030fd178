"""phonenumbers' metadata turned into what the bulk path runs: full-match regexes, possible-length
masks, per-length alternations of the rarer number types, and prefix tables for time zones and
carriers. Built once per process (`tables()`), each region on first use.

Example:
    >>> fr = tables().region("FR")
    >>> fr.cc, fr.general.allows(9), fr.general.allows(4)
    (33, True, False)
"""

from __future__ import annotations

import functools
import re

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from smslab.numbers import phonenumbers_internals as internals
from smslab.numbers.arrow_text import as_objects, choose, slice_from, utf8_lengths
from smslab.numbers.phonenumbers_internals import NumberDesc, RegionMetadata
from smslab.numbers.reference import TYPE_NAMES

UNKNOWN = phonenumbers.PhoneNumberType.UNKNOWN
FIXED = phonenumbers.PhoneNumberType.FIXED_LINE
MOBILE = phonenumbers.PhoneNumberType.MOBILE
FIXED_OR_MOBILE = phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
CARRIER_TYPES = {MOBILE, FIXED_OR_MOBILE, phonenumbers.PhoneNumberType.PAGER}
# _test_number_length results
TOO_SHORT, LOCAL_ONLY = phonenumbers.ValidationResult.TOO_SHORT, phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
INVALID_LENGTH, TOO_LONG = phonenumbers.ValidationResult.INVALID_LENGTH, phonenumbers.ValidationResult.TOO_LONG
MAX_LEN = 32  # length tables cover 0.._MAX_LEN-1 digits; longer goes to phonenumbers


def noncapturing(pattern: str) -> str:
    """The same regex with capturing groups made non-capturing (pyarrow's extract wants names)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "(" and not pattern.startswith("(?", i):
            out.append("(?:")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


class Desc:
    """A PhoneNumberDesc as a full-match regex and a possible-length mask."""

    def __init__(self, desc: NumberDesc | None) -> None:
        self.present = desc is not None
        pattern = desc.pattern if desc is not None else None
        self.regex = f"^(?:{pattern})$" if pattern else None
        lengths = desc.possible_lengths if desc is not None else ()
        self.lengths = np.zeros(MAX_LEN, dtype=bool)
        self.any_length = len(lengths) == 0
        for length in lengths:
            if 0 <= length < MAX_LEN:
                self.lengths[length] = True

    def allows(self, length: int) -> bool:
        """Could a number of this length match (present, pattern, possible length)?"""
        return (
            self.present
            and self.regex is not None
            and (self.any_length or (0 <= length < MAX_LEN and bool(self.lengths[length])))
        )

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


class Region:
    """What the fast path needs from one region's PhoneMetadata."""

    def __init__(self, code: str) -> None:
        md: RegionMetadata = internals.region_metadata(code, max_len=MAX_LEN)
        self.code = code
        self.md = md
        self.cc = md.country_code
        self.cc_str = str(md.country_code)
        self.idd = f"^(?P<p>{noncapturing(md.international_prefix)})" if md.international_prefix else None
        npfp = md.national_prefix_for_parsing
        self.npfp = f"^(?P<p>{noncapturing(npfp)})" if npfp else None
        self.transform = md.has_transform_rule
        self.npfp_py = re.compile(npfp) if npfp else None
        self.general = Desc(md.general)
        self.types = [(Desc(desc), value) for desc, value in md.rarer_types]
        self.fixed = Desc(md.fixed_line)
        self.mobile = Desc(md.mobile)
        self.same_fixed_mobile = md.same_mobile_and_fixed_line_pattern
        self.leading = f"^(?:{md.leading_digits})" if md.leading_digits else None
        self._combined: dict[int, tuple] = {}
        self.length_result = np.array(md.length_results, dtype=np.int8)

    def rare(self, length: int) -> tuple[str | None, str | None, list[int]]:
        """For one length: a regex naming each rarer type that allows it, the same without
        names (for a fast yes/no), and the type of each alternative."""
        if length not in self._combined:
            alts, values = [], []
            for desc, value in self.types:
                if desc.allows(length) and desc.regex is not None:  # allows() implies a regex
                    alts.append(noncapturing(desc.regex[4:-2]))
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
            values = as_objects(arr)
            for i in np.flatnonzero(matched):
                m = self.npfp_py.match(values[i])
                if m is None or not m.groups() or m.groups()[-1] is not None:
                    special[i] = True
                    values[i] = internals.strip_national_prefix(values[i], self.md)
            if special.any():
                matched = matched & ~special
                arr = pa.array(values, type=pa.string())
                lengths = utf8_lengths(arr)
        plen = np.where(matched, plen, 0)
        stripped = slice_from(arr, plen)
        slen = lengths - plen
        viable = self.general.match(arr, lengths, check_length=False)
        after = self.general.match(stripped, slen, check_length=False)
        keep_original = ~matched | (viable & ~after)
        out = choose(keep_original, arr, stripped)
        return out, np.where(keep_original, lengths, slen), giveup


class Tables:
    """Everything derived once from phonenumbers' metadata and prefix maps."""

    def __init__(self) -> None:
        self.regions: dict[str, Region] = {}
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
        # carrier: the longest prefix that has an English name
        en, self.carrier_longest = internals.carrier_prefixes("en")
        self.carrier_keys = pa.array(list(en), type=pa.string())
        self.carrier_names = np.array(list(en.values()) + [""], dtype=object)
        zones, self.tz_longest = internals.time_zone_prefixes()
        tz_values = list(dict.fromkeys(zones.values()))
        tz_values.append(internals.UNKNOWN_TIME_ZONES)
        self.tz_lists = [list(t) for t in tz_values]  # one shared list per distinct answer
        self.tz_index = {t: i for i, t in enumerate(tz_values)}
        self.tz_keys = pa.array(list(zones), type=pa.string())
        self.tz_key_value = np.array([self.tz_index[v] for v in zones.values()] + [self.tz_index[tz_values[-1]]])
        self.tz_unknown = self.tz_index[internals.UNKNOWN_TIME_ZONES]
        self.type_names = TYPE_NAMES

    def region(self, code: str) -> Region:
        if code not in self.regions:
            self.regions[code] = Region(code)
        return self.regions[code]

    def country_tz(self, cc: int) -> int:
        answer = internals.country_level_time_zones(cc)
        if answer not in self.tz_index:
            self.tz_index[answer] = len(self.tz_lists)
            self.tz_lists.append(list(answer))
        return self.tz_index[answer]


@functools.lru_cache(maxsize=1)
def tables() -> Tables:
    return Tables()
