"""Currency rates: an explicit, dated table (``data/pricing/currency_rates.csv`` or your own).

A total is converted only with this table, never with live rates.

Example:
    >>> load_rates({"EUR/USD": 1.1}).convert(10, "EUR", "USD")
    11.0
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from smslab.errors import InputError
from smslab.pricing.sheets import _cell_error, _read_text, pricing_dir

RATE_COLUMNS = ("from_currency", "to_currency", "rate", "source", "checked")


@dataclass
class Rates:
    """An explicit currency table: ``rates[(FROM, TO)]`` = units of TO per unit of FROM.

    Example:
        >>> r = Rates({("EUR", "USD"): 1.10})
        >>> r.convert(10, "EUR", "USD"), r.convert(11, "USD", "EUR"), r.convert(5, "GBP", "USD")
        (11.0, 10.0, None)
    """

    rates: dict[tuple[str, str], float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def rate(self, src: str, dst: str) -> float | None:
        if src == dst:
            return 1.0
        if (src, dst) in self.rates:
            return self.rates[(src, dst)]
        if (dst, src) in self.rates:
            return 1.0 / self.rates[(dst, src)]
        return None

    def convert(self, amount: float | None, src: str | None, dst: str) -> float | None:
        if amount is None or src is None:
            return None
        rate = self.rate(src, dst)
        return None if rate is None else round(amount * rate, 10)


def load_rates(override: str | os.PathLike[str] | dict[str, float] | None = None) -> Rates:
    """The built-in rate table (``data/pricing/currency_rates.csv``) with yours over it.

    ``override`` is a CSV (from_currency,to_currency,rate[,source,checked]) or a dict such as
    ``{"EUR/USD": 1.08}``. No live rates are ever fetched.

    Example:
        >>> load_rates({"EUR/USD": 1.1}).rate("USD", "EUR") == 1 / 1.1
        True
    """
    rates = Rates()
    paths = [pricing_dir() / "currency_rates.csv"]
    if isinstance(override, dict):
        extra = override
    else:
        extra = {}
        if override:
            paths.append(Path(override))
    for path in paths:
        if not path.is_file():
            if path != paths[0]:
                raise InputError(f"{path}: no such currency rate table")
            continue
        reader = csv.DictReader(io.StringIO(_read_text(path)))
        header = [h.strip() for h in (reader.fieldnames or [])]
        for required in RATE_COLUMNS[:3]:
            if required not in header:
                raise InputError(f"{path}: line 1: missing column '{required}' (expected {', '.join(RATE_COLUMNS)})")
        reader.fieldnames = header
        for raw in reader:
            line = reader.line_num
            cells = {k: (v or "").strip() for k, v in raw.items() if k is not None}
            if not any(cells.values()):
                continue
            for col in ("from_currency", "to_currency"):
                if not re.fullmatch(r"[A-Za-z]{3}", cells[col]):
                    raise _cell_error(
                        str(path), line, col, f"expected a three-letter code such as EUR, got {cells[col]!r}"
                    )
            try:
                value = float(cells["rate"])
            except ValueError:
                raise _cell_error(str(path), line, "rate", f"expected a number, got {cells['rate']!r}") from None
            if not math.isfinite(value) or value <= 0:
                raise _cell_error(str(path), line, "rate", f"expected a number > 0, got {cells['rate']!r}")
            rates.rates[(cells["from_currency"].upper(), cells["to_currency"].upper())] = value
        rates.files.append(str(path))
    for pair, value in extra.items():
        src, _, dst = pair.upper().partition("/")
        if not (re.fullmatch(r"[A-Z]{3}", src) and re.fullmatch(r"[A-Z]{3}", dst)) or not value or value <= 0:
            raise InputError(
                f"currency rate {pair!r}: {value!r}: expected 'FROM/TO' and a number > 0, e.g. 'EUR/USD': 1.08"
            )
        rates.rates[(src, dst)] = float(value)
    return rates
