"""`phonenumbers.parse` in bulk for the common shapes: (row, calling code, national number).

Digits with spaces, dots, dashes and parentheses, written `+CC…`, through the region's IDD or
nationally, follow parse's steps as vectorised regexes; a row it cannot decide exactly is left
out, and `normalize_one` answers it.

Example:
    >>> preamble("tel:+33 6 12 34 56 78")
    '+33 6 12 34 56 78'
    >>> preamble("+33 6 12 34 56 78;ext=1") is None   # RFC 3966 parameters: left to phonenumbers
    True
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from smslab.numbers.arrow_text import choose, slice_from, utf8_lengths
from smslab.numbers.phonenumbers_internals import first_steps_of_parse
from smslab.numbers.tables import INVALID_LENGTH, LOCAL_ONLY, MAX_LEN, TOO_LONG, TOO_SHORT, tables

# shapes decided in bulk: ASCII digits with spaces, dots, dashes and parentheses, either
# "+" then digits, or digits alone (national, or starting with the region's IDD prefix)
PLUS_SHAPE = r"^ *\+[0-9 ().\-]*$"
NATIONAL_SHAPE = r"^[ ().\-]*[0-9][0-9 ().\-]*$"
PLUS_RE = re.compile(PLUS_SHAPE)
NATIONAL_RE = re.compile(NATIONAL_SHAPE)
# other decimal digits phonenumbers reads as digits: fullwidth, Arabic-Indic, Persian
DIGIT_MAP = {
    **{0xFF10 + k: str(k) for k in range(10)},
    **{0x0660 + k: str(k) for k in range(10)},
    **{0x06F0 + k: str(k) for k in range(10)},
    0xFF0B: "+",
}


def preamble(text: str) -> str | None:
    """phonenumbers.parse's first steps, with its own helpers: the possible number without
    leading text or extension and with ASCII digits, or None when it is not viable."""
    if ";" in text:  # RFC 3966 parameters: left to phonenumbers
        return None
    core = first_steps_of_parse(text)
    return None if core is None else core.translate(DIGIT_MAP)


def extract_cc(arr: pa.Array, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """_extract_country_code on digit strings: (calling code or 0, its length)."""
    t = tables()
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


def parse_bulk(idx, plus, digits, ndig, region_arr):
    """phonenumbers.parse for the bulk shapes: (rows, calling code, national significant number)."""
    t = tables()
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
        rlen = utf8_lengths(rest)
        c, w = extract_cc(rest, rlen)
        bad = (rlen <= 2) | (c == 0) | ~t.geo_cc[np.clip(c, 0, 999)]
        giveup[rows[bad]] = True
        good = np.flatnonzero(~bad)
        cc[rows[good]] = c[good]
        part_rows.append(rows[good])
        part_values.append(slice_from(rest.take(pa.array(good)), w[good]))
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
                plen = utf8_lengths(pc.struct_field(found, [0]).fill_null(""))
                sel = np.flatnonzero(matched)
                rest = slice_from(d.take(pa.array(sel)), plen[sel])
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
            cond = (
                (
                    ~reg.general.match(full, full_len, check_length=False)
                    & reg.general.match(pot, pot_len, check_length=False)
                )
                | (reg.length_result[np.clip(full_len, 0, MAX_LEN - 1)] == TOO_LONG)
                | (full_len >= MAX_LEN)
            )
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
        lens = utf8_lengths(arr)
        stripped, slen, back = reg.strip_national_prefix(arr, lens)
        result = reg.length_result[np.clip(slen, 0, MAX_LEN - 1)]
        use = ~np.isin(result, [TOO_SHORT, LOCAL_ONLY, INVALID_LENGTH]) & (slen < MAX_LEN)
        final = choose(use, stripped, arr)
        flen = utf8_lengths(final)
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
