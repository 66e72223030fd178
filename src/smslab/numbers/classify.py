"""Classify parsed numbers in bulk: region, number type, validity, time zones and carrier.

Example:
    >>> import numpy as np, pyarrow as pa
    >>> out = {k: np.full(1, None, dtype=object) for k in
    ...        ("e164", "region", "valid", "number_type", "time_zones", "carrier", "error")}
    >>> classify(np.array([0]), np.array([33]), pa.array(["612345678"]), out)
    >>> out["e164"][0], out["region"][0], out["number_type"][0], out["carrier"][0]
    ('+33612345678', 'FR', 'mobile', 'SFR')
"""

from __future__ import annotations

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from smslab.numbers.arrow_text import as_objects, prefix_lookup, utf8_lengths
from smslab.numbers.tables import CARRIER_TYPES, FIXED, FIXED_OR_MOBILE, MOBILE, UNKNOWN, Region, tables


def number_types(reg: Region, arr: pa.Array, lens: np.ndarray) -> np.ndarray:
    """_number_type_helper for one region's metadata, per number length.

    The rarer types (premium rate … voicemail) that allow the length are first tested together
    as one regex; only rows matching it are told apart (first alternative in
    _number_type_helper's order wins). The rest are tested for fixed line and mobile.
    """
    n = len(arr)
    types = np.full(n, UNKNOWN, dtype=np.int64)
    general = reg.general.match(arr, lens)
    if not general.any():
        return types
    for length in np.unique(lens[general]):
        rows = np.flatnonzero(general & (lens == length))
        sub = arr.take(pa.array(rows)) if len(rows) != n else arr
        got = np.full(len(rows), UNKNOWN, dtype=np.int64)
        named, plain, values = reg.rare(int(length))
        rare = np.zeros(len(rows), dtype=bool)
        if plain is not None:
            rare = pc.match_substring_regex(sub, plain).to_numpy(zero_copy_only=False)
            if rare.any():
                ri = np.flatnonzero(rare)
                found = pc.extract_regex(sub.take(pa.array(ri)), named)
                which = np.full(len(ri), UNKNOWN, dtype=np.int64)
                for k in range(len(values) - 1, -1, -1):  # the first alternative that matched wins
                    which[utf8_lengths(pc.struct_field(found, [k]).fill_null("")) > 0] = values[k]
                got[ri] = which
        rest = np.flatnonzero(~rare)
        if len(rest):
            rsub = sub.take(pa.array(rest)) if len(rest) != len(rows) else sub
            rlen = np.full(len(rest), length)
            fixed = reg.fixed.match(rsub, rlen)
            if reg.same_fixed_mobile:
                got[rest[fixed]] = FIXED_OR_MOBILE
            else:
                mobile = reg.mobile.match(rsub, rlen)
                got[rest[fixed & mobile]] = FIXED_OR_MOBILE
                got[rest[fixed & ~mobile]] = FIXED
                got[rest[~fixed & mobile]] = MOBILE
        types[rows] = got
    return types


def classify(rows: np.ndarray, cc: np.ndarray, nsn: pa.Array, out: dict) -> None:
    """region_code_for_number, is_valid_number, number_type, time zones and carrier."""
    t = tables()
    m = len(rows)
    arr = nsn
    lens = utf8_lengths(arr)
    region = np.full(m, -1, dtype=np.int64)  # region id; -1: none
    types = np.full(m, UNKNOWN, dtype=np.int64)
    for code in np.unique(cc):
        sel = np.flatnonzero(cc == code)
        sub = arr.take(pa.array(sel)) if len(sel) != m else arr
        sl = lens[sel]
        candidates = t.cc_regions[int(code)]
        if len(candidates) == 1:
            region[sel] = t.region_id[candidates[0]]
            types[sel] = number_types(t.region(candidates[0]), sub, sl)
            continue
        todo = np.ones(len(sel), dtype=bool)
        for rcode in candidates:
            if not todo.any():
                break
            reg = t.region(rcode)
            if reg.leading is not None:
                hit = todo & pc.match_substring_regex(sub, reg.leading).to_numpy(zero_copy_only=False)
            else:
                hit = todo & (number_types(reg, sub, sl) != UNKNOWN)
            if hit.any():
                region[sel[hit]] = t.region_id[rcode]
                types[sel[hit]] = number_types(reg, sub.filter(pa.array(hit)), sl[hit])
            todo &= ~hit
    digits = pc.binary_join_element_wise(pc.cast(pa.array(cc), pa.string()), arr, "")
    e164 = as_objects(pc.binary_join_element_wise("+", digits, ""))
    # time zones: unknown type -> Etc/Unknown; non-geographic types -> the calling code's zones
    tz = np.full(m, t.tz_unknown, dtype=np.int64)
    known = types != UNKNOWN
    pair = cc * 100 + types  # is_number_type_geographical depends on (calling code, type) only
    geo_pairs = [
        int(k) for k in np.unique(pair[known]) if phonenumbers.is_number_type_geographical(int(k) % 100, int(k) // 100)
    ]
    geo = known & np.isin(pair, geo_pairs)
    if geo.any():
        gi = np.flatnonzero(geo)
        hit = prefix_lookup(digits.take(pa.array(gi)), t.tz_keys, t.tz_longest)
        tz[gi] = t.tz_key_value[hit]  # -1 picks the appended unknown entry
    country = known & ~geo
    if country.any():
        per_cc = np.full(1000, t.tz_unknown, dtype=np.int64)
        for c in np.unique(cc[country]):
            per_cc[c] = t.country_tz(int(c))
        tz[country] = per_cc[cc[country]]
    names = np.full(m, "", dtype=object)
    mobile_like = np.isin(types, list(CARRIER_TYPES))
    if mobile_like.any():
        mi = np.flatnonzero(mobile_like)
        hit = prefix_lookup(digits.take(pa.array(mi)), t.carrier_keys, t.carrier_longest)
        names[mi] = t.carrier_names[hit]
    valid = (types != UNKNOWN) & (region >= 0)
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
