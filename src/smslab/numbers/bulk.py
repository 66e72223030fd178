"""`normalize`: phonenumbers' answers for many inputs at once.

It deduplicates (value, region) pairs, decides the common shapes in bulk (`parse`, then
`classify`) and hands every other input to `normalize_one`. ``SMSLAB_NUMBERS_FAST=0`` sends
everything to `normalize_one`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from smslab.numbers.arrow_text import as_objects, digits_only
from smslab.numbers.classify import classify
from smslab.numbers.parse import NATIONAL_RE, NATIONAL_SHAPE, PLUS_RE, PLUS_SHAPE, parse_bulk, preamble
from smslab.numbers.reference import COLUMNS, normalize_one
from smslab.numbers.tables import tables


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
        runiques = np.array([region_arg(r) for r in runiques] + [None], dtype=object)
        width = len(runiques)
        codes, pairs = pd.factorize(vcodes.astype(np.int64) * width + rcodes)
        pairs = np.asarray(pairs, dtype=np.int64)
        picked = pairs // width
        u_values = vuniques.take(pa.array(picked)) if isinstance(vuniques, pa.Array) else list(vuniques[picked])
        u_regions = list(runiques[pairs % width])
    else:
        codes = vcodes
        u_values = vuniques if isinstance(vuniques, pa.Array) else list(vuniques)
        u_regions = [region_arg(default_region)] * len(u_values)
    result = decide(u_values, u_regions)
    take = np.asarray(codes, dtype=np.int64)
    frame = {"input": pd.Series(raw, dtype=object)}
    for name in COLUMNS[1:]:
        frame[name] = pd.Series(result[name][take], dtype=bool if name == "valid" else object)
    return pd.DataFrame(frame, columns=COLUMNS)


def region_arg(region) -> str | None:
    if region is None or (isinstance(region, float) and pd.isna(region)) or region is pd.NA:
        return None
    return str(region).upper()


def decide(values: Any, regions: list) -> dict[str, np.ndarray]:
    """Answers for unique (value, region) pairs: fast where certain, else normalize_one."""
    t = tables()
    n = len(values)
    out = {
        "e164": np.full(n, None, dtype=object),
        "region": np.full(n, None, dtype=object),
        "valid": np.zeros(n, dtype=bool),
        "number_type": np.full(n, "unknown", dtype=object),
        "time_zones": np.empty(n, dtype=object),
        "carrier": np.full(n, "", dtype=object),
        "error": np.full(n, None, dtype=object),
    }
    as_arrow = isinstance(values, pa.Array)
    if as_arrow or pd.api.types.infer_dtype(values, skipna=False) == "string":
        is_str = np.ones(n, dtype=bool)
    else:
        is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=n)
    region_arr = np.array(regions, dtype=object)
    rcodes, runiques = pd.factorize(pd.Series(region_arr, dtype=object), use_na_sentinel=False)
    region_ok = np.array([region_arg(r) is None or r in t.supported for r in runiques], dtype=bool)[rcodes]
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
        plus = pc.match_substring_regex(arr, PLUS_SHAPE).to_numpy(zero_copy_only=False)
        national = pc.match_substring_regex(arr, NATIONAL_SHAPE).to_numpy(zero_copy_only=False)
        other = np.flatnonzero(~(plus | national))
        if len(other):  # prefixes like "tel:", extensions, other digits: phonenumbers' own first steps
            texts = as_objects(arr.take(pa.array(other)))
            for j, text in enumerate(texts):
                core = preamble(text)
                if core is not None:
                    texts[j] = core
                    plus[other[j]] = PLUS_RE.match(core) is not None
                    national[other[j]] = NATIONAL_RE.match(core) is not None
            mask = np.zeros(len(arr), dtype=bool)
            mask[other] = True
            arr = pc.replace_with_mask(arr, pa.array(mask), pa.array(texts, type=pa.string()))
        national &= np.array([r is not None for r in region_arr[idx]], dtype=bool)
        shaped = plus | national
        idx, plus = idx[shaped], plus[shaped]
        arr = arr.filter(pa.array(shaped))
        digits = digits_only(arr)
        ndig = pc.utf8_length(digits).to_numpy(zero_copy_only=False).astype(np.int64)
        enough = ndig >= 3  # viable; exactly-two-digit inputs go to phonenumbers
        idx, plus, digits, ndig = idx[enough], plus[enough], digits.filter(pa.array(enough)), ndig[enough]
        parsed = parse_bulk(idx, plus, digits, ndig, region_arr)
        if parsed is not None:
            rows, cc, nsn = parsed
            classify(rows, cc, nsn, out)
            done[rows] = True
    for i in np.flatnonzero(~done):
        row = normalize_one(values[i].as_py() if as_arrow else values[i], regions[i])
        for key in out:
            out[key][i] = row[key]
    return out
