"""Benchmark: smslab.numbers.normalize against a per-row phonenumbers loop.

Generates N unique phone numbers in mixed formats across many countries (deterministic for a
seed), times the reference loop (`normalize_one` per row, i.e. phonenumbers parse, format,
is_valid_number, number_type, time_zones_for_number, carrier.name_for_number) and `normalize`,
counts answers that differ, and prints the speed ratio.

Example:
    .venv/bin/python bench/numbers.py --n 1000000 --baseline-sample 100000
"""

from __future__ import annotations

import os
import sys

# this file is called numbers.py: keep its folder off sys.path so the stdlib `numbers` wins
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402

import phonenumbers  # noqa: E402
from phonenumbers import PhoneNumberFormat as F  # noqa: E402
from phonenumbers import PhoneNumberType as T

# countries of a typical multi-country audience, most of it in the first few
COUNTRIES = [
    "FR",
    "US",
    "GB",
    "DE",
    "IN",
    "KE",
    "BR",
    "IT",
    "ES",
    "NG",
    "ZA",
    "MX",
    "CA",
    "AU",
    "JP",
    "RO",
    "NL",
    "BE",
    "CH",
    "PL",
    "AR",
    "GG",
    "JM",
    "RU",
    "KZ",
    "AE",
    "PH",
    "ID",
    "EG",
    "TR",
]
WEIGHTS = [14, 14, 10, 8, 8, 6, 5, 5, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0.5, 0.5, 1, 0.5, 1, 1, 1, 1, 1]
TYPES = [T.MOBILE, T.MOBILE, T.MOBILE, T.FIXED_LINE, T.FIXED_LINE, T.TOLL_FREE, T.VOIP, T.PREMIUM_RATE]
SEPARATORS = [" ", " ", "", "-", ".", "  "]


def _templates() -> dict[str, list[str]]:
    """Example national significant numbers per region, from phonenumbers' own metadata."""
    out = {}
    for region in COUNTRIES:
        nsns = []
        for kind in set(TYPES):
            ex = phonenumbers.example_number_for_type(region, kind)
            if ex is not None:
                nsns.append(phonenumbers.national_significant_number(ex))
        out[region] = nsns
    return out


def _regroup(digits: str, rng: random.Random) -> str:
    sep = rng.choice(SEPARATORS)
    if not sep:
        return digits
    out, i = [], 0
    while i < len(digits):
        k = rng.choice([2, 3, 3, 4])
        out.append(digits[i : i + k])
        i += k
    return sep.join(out)


def generate(n: int, seed: int = 7) -> tuple[list[str], list[str | None]]:
    """N unique (text, region) pairs in mixed formats; some invalid, some garbage."""
    rng = random.Random(seed)
    templates = _templates()
    seen: set[tuple[str, str | None]] = set()
    values: list[str] = []
    regions: list[str | None] = []
    while len(values) < n:
        region = rng.choices(COUNTRIES, WEIGHTS)[0]
        nsn = rng.choice(templates[region])
        keep = rng.randint(1, min(4, len(nsn)))
        digits = nsn[:keep] + "".join(rng.choice("0123456789") for _ in range(len(nsn) - keep))
        roll = rng.random()
        if roll < 0.03:  # wrong length
            digits = digits[:-1] if rng.random() < 0.5 else digits + rng.choice("0123456789")
        try:
            num = phonenumbers.parse("+" + str(phonenumbers.country_code_for_region(region)) + digits)
        except phonenumbers.NumberParseException:
            continue
        style = rng.random()
        row_region: str | None = region
        if style < 0.35:
            text = phonenumbers.format_number(num, F.E164)
            row_region = rng.choice([None, region, "FR"])
        elif style < 0.55:
            text = phonenumbers.format_number(num, F.INTERNATIONAL)
            row_region = rng.choice([None, region])
        elif style < 0.85:
            text = phonenumbers.format_number(num, F.NATIONAL)
            if rng.random() < 0.5:
                text = _regroup("".join(c for c in text if c.isdigit()), rng)
        elif style < 0.93:
            row_region = rng.choice(["FR", "US", "GB", "DE", "KE"])
            text = phonenumbers.format_out_of_country_calling_number(num, row_region)
        elif style < 0.96:
            text = "+" + _regroup(str(num.country_code) + digits, rng)
            row_region = None
        elif style < 0.98:  # shapes the bulk path hands to phonenumbers
            text = rng.choice(
                [
                    phonenumbers.format_number(num, F.RFC3966),
                    phonenumbers.format_number(num, F.E164) + " ext. " + str(rng.randint(1, 999)),
                    phonenumbers.format_number(num, F.NATIONAL).translate(
                        str.maketrans("0123456789", "０１２３４５６７８９")
                    ),
                ]
            )
        else:  # garbage and near-garbage
            text = rng.choice(
                [
                    "",
                    "n/a",
                    "0",
                    "+",
                    "12",
                    "abc" + digits,
                    digits[:2],
                    "+0" + digits,
                    "+999" + digits,
                    "00" + digits,
                    "tel: " + digits,
                ]
            )
        key = (text, row_region)
        if key in seen:
            continue
        seen.add(key)
        values.append(text)
        regions.append(row_region)
    return values, regions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="unique numbers (default 1,000,000)")
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=100_000,
        help="rows of the per-row loop to time; its speed is extrapolated to --n (0: all)",
    )
    parser.add_argument("--check", type=int, default=0, help="rows whose answers are compared (default 0: every row)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import pandas as pd

    from smslab.numbers import COLUMNS, normalize, normalize_one

    t0 = time.perf_counter()
    values, regions = generate(args.n, args.seed)
    print(
        f"generated {len(values):,} unique (number, region) pairs in {time.perf_counter() - t0:.1f}s "
        f"({len(set(r for r in regions if r))} default regions)"
    )

    normalize(values[:1000], default_region=pd.Series(regions[:1000], dtype=object))  # load metadata tables
    t0, c0 = time.perf_counter(), time.process_time()
    fast = normalize(values, default_region=pd.Series(regions, dtype=object))
    fast_s, fast_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"normalize: {fast_s:.2f}s wall ({len(values) / fast_s:,.0f} numbers/s), {fast_cpu:.2f}s CPU")

    sample = len(values) if args.baseline_sample <= 0 else min(args.baseline_sample, len(values))
    step = max(1, len(values) // sample)
    picked = list(range(0, len(values), step))[:sample]
    t0, c0 = time.perf_counter(), time.process_time()
    reference = {i: normalize_one(values[i], regions[i]) for i in picked}
    base_s, base_cpu = time.perf_counter() - t0, time.process_time() - c0
    base_rate, base_cpu_rate = len(picked) / base_s, len(picked) / base_cpu
    note = "" if len(picked) == len(values) else f" (timed on {len(picked):,} evenly spaced rows, extrapolated)"
    print(
        f"per-row phonenumbers loop: {base_rate:,.0f} numbers/s wall -> {len(values) / base_rate:.1f}s, "
        f"{len(values) / base_cpu_rate:.1f}s CPU for {len(values):,}{note}"
    )

    check = range(len(values)) if args.check <= 0 else range(0, len(values), max(1, len(values) // args.check))
    differ = 0
    records = fast.to_dict("records")
    for i in check:
        ref = reference.get(i) or normalize_one(values[i], regions[i])
        got = records[i]
        got = {c: got[c] for c in COLUMNS}
        got["valid"] = bool(got["valid"])
        got["time_zones"] = list(got["time_zones"])
        if got != ref:
            differ += 1
            if differ <= 5:
                print("DIFFERS:", repr(values[i]), regions[i], ref, got)
    print(f"answers compared: {len(check):,}; differing: {differ}")
    print(
        f"speed-up: {(len(values) / base_rate) / fast_s:.1f}x the per-row loop (wall clock); "
        f"{(len(values) / base_cpu_rate) / fast_cpu:.1f}x in CPU time"
    )


if __name__ == "__main__":
    main()
