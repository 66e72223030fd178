"""Load conversions (orders, sign-ups) from a CSV into the store, for attribution to campaigns.

A load step, like `smslab.receiving.file_ingest.ingest`: rows that cannot be used go to the
`quarantine` table with their line and why, and the rest still load; loading the same file
again adds nothing. `smslab.analytics.attributed_conversions` then credits each conversion to
the campaign that touched the number last. The command line is `smslab conversions FILE`.

Example:
    >>> import tempfile, pathlib
    >>> from smslab import store
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "orders.csv").write_text("msisdn,time,value\\n+33612345678,2026-12-02T10:00:00Z,30\\nnope,x,1\\n")
    >>> import_conversions(folder / "orders.csv", con=store.connect(":memory:"), currency="EUR")
    {'loaded': 1, 'duplicates': 0, 'quarantined': 1, 'new_quarantined': 1}
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

_CONV_COLUMNS = {
    "msisdn": ("msisdn", "phone", "phone_number", "number", "mobile"),
    "time": ("time", "converted_at", "timestamp", "date", "datetime"),
    "value": ("value", "amount", "revenue"),
    "currency": ("currency",),
    "reference": ("reference", "order_id", "id"),
}


def currency_code(value: str | None, what: str = "") -> str | None:
    """A three-letter currency code, upper-cased (None for none given); an InputError naming
    `what` otherwise.

    Example:
        >>> currency_code("eur", "currency"), currency_code(None)
        ('EUR', None)
    """
    from smslab.errors import InputError

    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{3}", str(value)):
        where = f"{what} " if what else ""
        raise InputError(f"{where}{value!r}: expected a three-letter currency code such as EUR")
    return str(value).upper()


def import_conversions(
    path: str | Path,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    db: Any = None,
    default_region: str | None = None,
    currency: str | None = None,
) -> dict[str, int]:
    """Load conversions from a CSV (msisdn, time, value[, currency, reference]) into `conversions`.

    Numbers are normalised to E.164 (`default_region` for national formats), times parsed as ISO
    8601 (no offset = UTC), values as numbers. A row that cannot be used goes to `quarantine`
    with its line and why; importing the same file again adds nothing (a conversion is the
    same when number, time, value, currency and reference are). A missing, unreadable or
    headerless file, or one without the three columns, is an `InputError` naming the file.

    Returns `loaded` (new rows), `duplicates` (good rows already in the store, or repeated in
    the file), `quarantined` (bad rows in this file) and `new_quarantined` (of those, the ones
    not quarantined by an earlier load of the same file).

    Example::

        import_conversions("orders.csv", db="data/smslab.duckdb", default_region="FR", currency="EUR")
        {'loaded': 120, 'duplicates': 0, 'quarantined': 2, 'new_quarantined': 2}
    """
    from smslab import store
    from smslab.errors import InputError
    from smslab.numbers import normalize
    from smslab.numbers.reference import region_code

    default_region = region_code(default_region, "default_region")
    currency = currency_code(currency, "currency")
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected a CSV file msisdn,time,value[,currency,reference]")
    if not path.is_file():
        raise InputError(f"{path}: no such conversions file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            # the physical lines, so that a record goes to quarantine as it is written in the file
            physical = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", handle.read())
        reader = csv.reader(physical)
        header = next(reader, None)
        rows: list[tuple[int, list[str], str]] = []
        seen = reader.line_num
        for record in reader:
            raw, seen = "".join(physical[seen : reader.line_num]).rstrip("\r\n"), reader.line_num
            if any(c.strip() for c in record):
                rows.append((reader.line_num, record, raw))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the conversions file ({exc.strerror or exc})") from None
    if not header:
        raise InputError(f"{path}: line 1: empty file; expected a header msisdn,time,value[,currency,reference]")
    names = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for key, aliases in _CONV_COLUMNS.items():
        for alias in aliases:
            if alias in names:
                index[key] = names.index(alias)
                break
    missing = [k for k in ("msisdn", "time", "value") if k not in index]
    if missing:
        raise InputError(
            f"{path}: line 1: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(names)}; expected msisdn,time,value[,currency,reference])"
        )

    def cell(r: list[str], key: str) -> str:
        i = index.get(key)
        return r[i].strip() if i is not None and i < len(r) else ""

    frame = pd.DataFrame(
        {
            "line": [ln for ln, _, _ in rows],
            "raw": [raw for _, _, raw in rows],
            "msisdn_in": [cell(r, "msisdn") for _, r, _ in rows],
            "time_in": [cell(r, "time") for _, r, _ in rows],
            "value_in": [cell(r, "value") for _, r, _ in rows],
            "currency": [cell(r, "currency").upper() or currency for _, r, _ in rows],
            "reference": [cell(r, "reference") or None for _, r, _ in rows],
            "width": [len(r) for _, r, _ in rows],
        }
    )
    numbers = (
        normalize(frame["msisdn_in"], default_region=default_region)
        if len(frame)
        else pd.DataFrame(columns=["e164", "valid", "error"])
    )
    frame["msisdn"] = numbers["e164"].where(numbers["valid"].astype(bool)).to_numpy()
    times = pd.to_datetime(frame["time_in"], utc=True, errors="coerce", format="ISO8601")
    frame["converted_at"] = times.dt.tz_localize(None)
    frame["value"] = pd.to_numeric(frame["value_in"], errors="coerce")
    reasons: list[str | None] = []
    for i, row in enumerate(frame.itertuples()):
        if row.width != len(header):
            reasons.append(f"expected {len(header)} fields, got {row.width}")
        elif row.msisdn is None or (isinstance(row.msisdn, float) and math.isnan(row.msisdn)):
            reasons.append(f"msisdn {row.msisdn_in!r}: {numbers['error'].iloc[i] or 'not a valid number'}")
        elif pd.isna(row.converted_at):
            reasons.append(f"time {row.time_in!r}: expected an ISO 8601 date and time")
        elif pd.isna(row.value) or not math.isfinite(row.value):
            reasons.append(f"value {row.value_in!r}: expected a number")
        elif row.currency is not None and not re.fullmatch(r"[A-Z]{3}", row.currency):
            reasons.append(f"currency {row.currency!r}: expected a three-letter code such as EUR")
        else:
            reasons.append(None)
    frame["reason"] = reasons
    bad = frame[frame["reason"].notna()]
    good = frame[frame["reason"].isna()][["msisdn", "converted_at", "value", "currency", "reference"]]
    good = good.drop_duplicates()
    with store.using(con, db) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            before = int(store.scalar(con, "SELECT count(*) FROM conversions"))
            if len(good):
                con.register("_smslab_conv", good)
                con.execute("""INSERT INTO conversions
                               SELECT msisdn, converted_at, value, currency, reference FROM _smslab_conv g
                               WHERE NOT EXISTS (SELECT 1 FROM conversions c WHERE c.msisdn = g.msisdn
                                   AND c.converted_at = g.converted_at AND c.value = g.value
                                   AND c.currency IS NOT DISTINCT FROM g.currency
                                   AND c.reference IS NOT DISTINCT FROM g.reference)""")
                con.unregister("_smslab_conv")
            loaded = int(store.scalar(con, "SELECT count(*) FROM conversions")) - before
            quarantined = store.quarantine(
                con,
                [
                    {
                        "source": f"conversions:{path.name}",
                        "location": f"{path}:{r.line}",
                        "raw": r.raw,
                        "reason": r.reason,
                    }
                    for r in bad.itertuples()
                ],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return {
        "loaded": loaded,
        "duplicates": int(len(frame) - len(bad) - loaded),
        "quarantined": int(len(bad)),
        "new_quarantined": int(quarantined),
    }
