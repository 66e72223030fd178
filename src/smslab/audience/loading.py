"""Loading an audience: normalise every number, quarantine what cannot be used, collapse duplicates.

The rows come from `smslab.audience.readers`; this module decides what each row becomes.

Example:
    >>> result = load("tests/fixtures/audience/basic.csv", default_region="FR")
    >>> result.summary["loaded"], result.summary["quarantined"], result.frame.loc[0, "msisdn"]
    (4, 3, '+33612345678')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers

from smslab.audience.readers import Chunk, Rows, csv_text, read
from smslab.numbers import normalize
from smslab.numbers.reference import region_code

FRAME_COLUMNS = [
    "msisdn",
    "region",
    "valid",
    "number_type",
    "time_zone",
    "time_zones",
    "carrier",
    "consent_at",
    "consent_source",
    "attributes",
    "row",
]
_DATE_HINT = "use ISO 8601, e.g. 2026-01-31 or 2026-01-31T09:00:00Z"


@dataclass
class AudienceLoad:
    """What `load` returns: the usable audience, the rejected rows and counts.

    `frame` has one row per unique valid E.164 number (columns `FRAME_COLUMNS`);
    `quarantined` holds dicts `{source, location, raw, reason}`; `summary` the counts.
    """

    frame: pd.DataFrame
    quarantined: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def load(path: str | os.PathLike[str], *, default_region: str | None = None, con: Any = None) -> AudienceLoad:
    """Read an audience file (CSV, Parquet) or DuckDB table (`duckdb:TABLE` with `con`).

    Quarantined rows are also written to the `quarantine` table when `con` is given.

    Example:
        >>> load("audience.csv", default_region="FR").summary  # doctest: +SKIP
        {'rows': 3, 'loaded': 2, 'duplicates': 1, 'quarantined': 0, 'by_country': {'FR': 2}, ...}
    """
    source = str(path)
    region = region_code(default_region, "default_region")
    chunks = read(source, con)
    kept: list[pd.DataFrame] = []
    quarantined: list[dict] = []
    rows = 0
    for chunk in chunks:
        rows += len(chunk.msisdn)
        frame, bad = _process(chunk, region, source)
        kept.append(frame)
        quarantined.extend(bad)
    frame = _collapse(kept)
    duplicates = rows - len(quarantined) - len(frame)
    summary = {
        "rows": rows,
        "loaded": len(frame),
        "duplicates": duplicates,
        "quarantined": len(quarantined),
        "by_country": {str(k): int(v) for k, v in frame["region"].value_counts().sort_index().items()},
        "by_number_type": {str(k): int(v) for k, v in frame["number_type"].value_counts().sort_index().items()},
    }
    if con is not None and quarantined:
        from smslab import store

        store.quarantine(con, quarantined)
    return AudienceLoad(frame=frame, quarantined=quarantined, summary=summary)


def _parse_consent(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """UTC-naive timestamps, and a mask of values that were given but are not dates."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[ns]").reset_index(drop=True), pd.Series(False, index=range(len(values)))
    text = values.reset_index(drop=True).astype(object)
    stripped = text.astype(str).str.strip()
    given = text.notna() & (stripped != "")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if given.any():
        out = pd.to_datetime(stripped[given], errors="coerce", utc=True, format="ISO8601")
        parsed[given] = out.dt.tz_localize(None).astype("datetime64[ns]")
    return parsed, given & parsed.isna()


def _process(chunk: Chunk, default_region: str | None, source: str) -> tuple[pd.DataFrame, list[dict]]:
    numbers = [m if m is not None else "" for m in chunk.msisdn]
    region_list = None  # None: every row has the default region
    if not (isinstance(chunk.region, list) and chunk.region.count(None) == len(chunk.region)):
        given = pd.Series(chunk.region, dtype=object).fillna("").astype(str).str.strip().str.upper()
        if (given != "").any():
            regions = given.where(given != "", default_region).astype(object)
            regions = regions.where(regions.notna(), None)
            region_list = regions.tolist()
    # one region for every row: passed as one value (the same answers, found faster)
    norm = normalize(numbers, default_region=default_region if region_list is None else regions)
    consent, bad_date = _parse_consent(chunk.consent_at)
    valid = norm["valid"].to_numpy()
    bad = (~valid) | bad_date.to_numpy()
    for i in chunk.problems:
        bad[i] = True
    errors, e164s = norm["error"].to_numpy(), norm["e164"].to_numpy()
    quarantined = []
    which = bad.nonzero()[0].tolist()
    raws = chunk.raw.rows(which) if isinstance(chunk.raw, Rows) else [chunk.raw[i] for i in which]
    for i, raw in zip(which, raws, strict=False):
        if i in chunk.problems:
            reason = chunk.problems[i]
        elif not valid[i]:
            region = default_region if region_list is None else region_list[i]
            reason = _number_reason(numbers[i], region, errors[i], e164s[i])
        else:
            reason = f"consent_at {str(chunk.consent_at.iloc[i]).strip()!r} is not a date; {_DATE_HINT}"
        quarantined.append(
            {
                "source": source,
                "location": chunk.location[i],
                "raw": csv_text(raw, ",") if isinstance(raw, list) else raw,
                "reason": reason,
            }
        )
    keep = ~bad
    tz = norm["time_zones"]
    frame = pd.DataFrame(
        {
            "msisdn": norm["e164"],
            "region": norm["region"],
            "valid": norm["valid"],
            "number_type": norm["number_type"],
            # object columns built as such keep None (not NaN) for missing values
            "time_zone": pd.Series([z[0] if z and z[0] != "Etc/Unknown" else None for z in tz.tolist()], dtype=object),
            "time_zones": tz,
            "carrier": norm["carrier"],
            "consent_at": consent,
            "consent_source": _none_for_missing(pd.Series(chunk.consent_source, dtype=object)),
            "attributes": pd.Series(chunk.attributes, dtype=object),
            "row": pd.Series(chunk.row, dtype="int64"),
        }
    )
    if not keep.all():
        frame = frame[keep].reset_index(drop=True)
    return frame, quarantined


def _none_for_missing(values: pd.Series) -> pd.Series:
    return values.where(values.notna(), None) if values.isna().any() else values


def _number_reason(value: str, region: str | None, error: str | None, e164: str | None) -> str:
    if error == "empty":
        return "msisdn is empty"
    shown = f"msisdn {value!r}"
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS and not str(value).strip().startswith("+"):
        return (
            f"{shown}: region {region!r} is not a region code; use two letters such as FR, or write the number as +CC…"
        )
    if error and error.startswith("unparseable"):
        detail = error.split(":", 1)[1].strip()
        if region is None and not str(value).strip().startswith("+"):
            return (
                f"{shown}: no country code and no region; "
                "write it as +CC… or give a region (default_region or a region column)"
            )
        return f"{shown}: not a phone number ({detail})"
    if e164:
        return f"{shown}: {e164} is not a valid number" + ("" if error == "not a valid number" else f" ({error})")
    return f"{shown}: {error}"


def _collapse(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per E.164: the latest consent_at wins, then the first row in the file.

    The rows stay in file order. Only numbers that occur more than once are sorted (by number,
    dated first, latest consent, row) to pick their winner.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(
            {
                c: pd.Series(
                    dtype="datetime64[ns]"
                    if c == "consent_at"
                    else "int64"
                    if c == "row"
                    else bool
                    if c == "valid"
                    else object
                )
                for c in FRAME_COLUMNS
            }
        )
    frame = pd.concat(parts, ignore_index=True)
    if not frame["row"].is_monotonic_increasing:
        frame = frame.sort_values("row", kind="stable", ignore_index=True)
    codes, uniques = pd.factorize(frame["msisdn"], use_na_sentinel=False)
    if len(uniques) < len(frame):
        repeated = np.flatnonzero(np.bincount(codes)[codes] > 1)
        group = codes[repeated]
        consent = frame["consent_at"].to_numpy()[repeated]
        has = ~np.isnat(consent)
        latest = -np.where(has, consent.view("int64"), 0)  # latest first
        order = np.lexsort((frame["row"].to_numpy()[repeated], latest, ~has, group))
        ranked = group[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = ranked[1:] != ranked[:-1]
        keep = np.ones(len(frame), dtype=bool)
        keep[repeated] = False
        keep[repeated[order[first]]] = True
        frame = frame[keep]
    return frame.reset_index(drop=True)[FRAME_COLUMNS]
