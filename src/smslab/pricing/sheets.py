"""Price sheets: the built-in indicative sheet, a user's CSV merged over it, and their validation.

Prices are indicative, sourced and dated (``data/pricing/indicative.csv``); a value nobody has
a source for is ``unknown`` (None here) and is never treated as zero.

Example:
    >>> load_prices().get("US", "short_code").recurring_fee
    1000.0
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from smslab import config
from smslab.errors import InputError
from smslab.senders import SENDER_TYPES

UNKNOWN = "unknown"
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}

NUMERIC_COLUMNS = (
    "setup_fee",
    "recurring_fee",
    "minimum_term_months",
    "lead_time_weeks",
    "price_per_segment",
    "price_per_inbound",
    "carrier_surcharge_per_segment",
    "throughput_mps",
)
TEXT_COLUMNS = ("currency", "recurring_period", "source", "source_url", "checked", "notes")
COLUMNS = ("country", "sender_type", *TEXT_COLUMNS[:2], *NUMERIC_COLUMNS, *TEXT_COLUMNS[2:])


@dataclass(frozen=True)
class Price:
    """One country × sender type: None means unknown (never zero)."""

    country: str
    sender_type: str
    currency: str | None = None
    setup_fee: float | None = None
    recurring_fee: float | None = None
    recurring_period: str | None = None
    minimum_term_months: float | None = None
    lead_time_weeks: float | None = None
    price_per_segment: float | None = None
    price_per_inbound: float | None = None
    carrier_surcharge_per_segment: float | None = None
    throughput_mps: float | None = None
    source: str = ""
    source_url: str = ""
    checked: str = ""
    notes: str = ""


@dataclass
class PriceSheet:
    """Prices keyed by (country, sender_type), with the files they came from.

    Example:
        >>> sheet = load_prices()
        >>> sheet.get("US", "short_code").recurring_fee
        1000.0
    """

    prices: dict[tuple[str, str], Price] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def get(self, country: str, sender_type: str) -> Price:
        """The price row, or an all-unknown row when the sheet has none."""
        return self.prices.get((country.upper(), sender_type), Price(country.upper(), sender_type))


def pricing_dir() -> Path:
    return config.data_dir() / "pricing"


def _cell_error(path: str, line: int, column: str, problem: str) -> InputError:
    return InputError(f"{path}: row {line - 1} (line {line}), column '{column}': {problem}")


def _parse_rows(path: str, text: str, *, partial: bool) -> dict[tuple[str, str], dict[str, Any]]:
    """Validate a price sheet; `partial` sheets (user overrides) may omit columns and leave cells empty."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InputError(f"{path}: empty price sheet; expected a header with {', '.join(COLUMNS)}")
    reader.fieldnames = header
    for required in ("country", "sender_type"):
        if required not in header:
            raise InputError(f"{path}: line 1: missing column '{required}' (expected columns: {', '.join(COLUMNS)})")
    for name in header:
        if name not in COLUMNS:
            raise InputError(
                f"{path}: line 1, column '{name}': unknown column (expected some of: {', '.join(COLUMNS)})"
            )
    if not partial:
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InputError(f"{path}: line 1: missing columns {', '.join(missing)}")
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for index, raw in enumerate(reader):
        line = reader.line_num if reader.line_num else index + 2
        if None in raw:
            raise _cell_error(path, line, header[-1], f"more cells than the {len(header)} columns of the header")
        cells = {k: (v or "").strip() for k, v in raw.items()}
        if not any(cells.values()):
            continue
        values: dict[str, Any] = {}
        cc = cells["country"].upper()
        if not re.fullmatch(r"[A-Z]{2}", cc):
            raise _cell_error(
                path, line, "country", f"expected a two-letter country code such as FR, got {cells['country']!r}"
            )
        st = cells["sender_type"]
        if st not in SENDER_TYPES:
            raise _cell_error(path, line, "sender_type", f"expected one of {', '.join(SENDER_TYPES)}, got {st!r}")
        for col in NUMERIC_COLUMNS:
            if col not in cells or (partial and cells[col] == ""):
                continue
            value = cells[col]
            if value.lower() == UNKNOWN or (not partial and value == ""):
                if value == "":
                    raise _cell_error(path, line, col, "empty; write a number or 'unknown'")
                values[col] = None
                continue
            try:
                number = float(value.replace("_", ""))
            except ValueError:
                raise _cell_error(path, line, col, f"expected a number or 'unknown', got {value!r}") from None
            if not math.isfinite(number) or number < 0:
                raise _cell_error(path, line, col, f"expected a number ≥ 0, got {value!r}")
            values[col] = number
        if "currency" in cells and not (partial and cells["currency"] == ""):
            cur = cells["currency"]
            if cur.lower() == UNKNOWN:
                values["currency"] = None
            elif re.fullmatch(r"[A-Za-z]{3}", cur):
                values["currency"] = cur.upper()
            else:
                raise _cell_error(
                    path, line, "currency", f"expected a three-letter code such as USD or 'unknown', got {cur!r}"
                )
        if "recurring_period" in cells and not (partial and cells["recurring_period"] == ""):
            period = cells["recurring_period"].lower()
            if period == UNKNOWN:
                values["recurring_period"] = None
            elif period in PERIOD_MONTHS:
                values["recurring_period"] = period
            else:
                raise _cell_error(
                    path,
                    line,
                    "recurring_period",
                    f"expected month, quarter, year or 'unknown', got {cells['recurring_period']!r}",
                )
        if cells.get("checked"):
            try:
                date.fromisoformat(cells["checked"])
            except ValueError:
                raise _cell_error(
                    path, line, "checked", f"expected a date such as 2026-01-31, got {cells['checked']!r}"
                ) from None
        for col in ("source", "source_url", "checked", "notes"):
            if col in cells and (cells[col] or not partial):
                values[col] = cells[col]
        priced = [
            c
            for c in (
                "setup_fee",
                "recurring_fee",
                "price_per_segment",
                "price_per_inbound",
                "carrier_surcharge_per_segment",
            )
            if values.get(c) is not None
        ]
        if (
            priced
            and "currency" in cells
            and values.get("currency") is None
            and not (partial and cells["currency"] == "")
        ):
            raise _cell_error(path, line, "currency", f"prices given ({', '.join(priced)}) but no currency")
        if (
            values.get("recurring_fee") is not None
            and "recurring_period" in values
            and values["recurring_period"] is None
        ):
            raise _cell_error(
                path, line, "recurring_period", "a recurring fee needs its period (month, quarter or year)"
            )
        key = (cc, st)
        if key in rows:
            raise _cell_error(
                path, line, "sender_type", f"{cc} {st} appears twice (first on line {rows[key]['_line']})"
            )
        values["_line"] = line
        rows[key] = values
    return rows


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"{path}: no such price sheet")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; save the price sheet as UTF-8 CSV") from None


def load_prices(
    override: str | os.PathLike[str] | None = None, *, builtin: str | os.PathLike[str] | None = None
) -> PriceSheet:
    """The built-in indicative sheet, with a user's CSV merged over it cell by cell.

    A user sheet needs ``country`` and ``sender_type`` and any of the other columns; an empty
    cell keeps the built-in value, ``unknown`` clears it. ``SMSLAB_PRICES`` names a default
    override file. A malformed sheet raises one `InputError` naming the row and the column.

    Example:
        >>> load_prices().get("FR", "short_code").price_per_segment is None   # unknown, not 0
        True
    """
    base_path = Path(builtin) if builtin else pricing_dir() / "indicative.csv"
    sheet = PriceSheet()
    for key, values in _parse_rows(str(base_path), _read_text(base_path), partial=False).items():
        values.pop("_line")
        sheet.prices[key] = Price(*key, **values)
    sheet.files.append(str(base_path))
    override = override or os.environ.get("SMSLAB_PRICES") or None
    if override:
        path = Path(override)
        for key, values in _parse_rows(str(path), _read_text(path), partial=True).items():
            values.pop("_line")
            current = sheet.get(*key)
            merged = {**asdict(current), **values}
            if "source" not in values:
                merged["source"] = f"user price sheet {path.name}"
            if "source_url" not in values:
                merged["source_url"] = ""
            if "notes" not in values:
                merged["notes"] = ""
            sheet.prices[key] = Price(**merged)
        sheet.files.append(str(path))
    return sheet
