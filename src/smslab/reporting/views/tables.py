"""Tables for people: headers in words, numbers formatted, phone numbers masked, long ones as a CSV link.

Example:
    >>> import pandas as pd
    >>> frame([{"region": "FR"}]).columns.tolist()
    ['region']
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from smslab.reporting.views.colours import words

E164 = re.compile(r"(?<![\w.+])\+\d{8,15}(?![\d])")


def mask_numbers(text: str) -> str:
    """Every +E.164 number in `text` masked: the safety net behind masked data.

    Example:
        >>> mask_numbers("call +33612345678")
        'call +33 6•• •• •• 78'
    """
    from smslab.masking import mask_msisdn

    return E164.sub(lambda m: mask_msisdn(m.group(0)) or "", text)


def table(
    frame: Any,
    *,
    percent: Iterable[str] = (),
    money: Iterable[str] = (),
    decimals: Iterable[str] = (),
    max_rows: int = 20,
    name: str = "table",
) -> None:
    """Display a DataFrame for people: headers in words, percentages, money with 2 decimals (4 below
    1), no index, phone-number columns masked. Past `max_rows` rows, the first ones are shown and
    the whole table is a CSV download embedded in the page (a data: link: it works offline)."""
    from IPython.display import HTML, display

    phones = [c for c in frame.columns if c in ("msisdn", "phone", "to", "from")]
    shown = _masked(frame.head(max_rows), phones)

    def fmt(fn: Callable[[float], str]) -> Callable[[Any], str]:
        return lambda v: "—" if v is None or (isinstance(v, float) and math.isnan(v)) else fn(v)

    for col in percent:
        if col in shown:
            shown[col] = shown[col].map(fmt(lambda v: f"{v:.1%}"))
    for col in money:
        if col in shown:
            shown[col] = shown[col].map(fmt(lambda v: f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4f}"))
    for col in decimals:
        if col in shown:
            shown[col] = shown[col].map(fmt(lambda v: f"{v:,.1f}"))
    for col in shown.columns:  # counts with thousands separators
        if str(shown[col].dtype) in ("int64", "Int64", "int32", "Int32"):
            shown[col] = shown[col].map(fmt(lambda v: f"{int(v):,}"))
    shown.columns = [words(c) for c in shown.columns]
    more = ""
    if len(frame) > max_rows:
        more = (
            f"<p><em>The first {max_rows:,} of {len(frame):,} rows.</em> "
            f"{csv_link(frame, f'{name}.csv', phones=phones)}</p>"
        )
    display(HTML(shown.to_html(index=False, na_rep="—", escape=True, border=0, classes="smslab-table") + more))


def _masked(frame: Any, phones: Sequence[str]) -> Any:
    from smslab.masking import mask_frame

    return mask_frame(frame, list(phones)) if phones else frame.copy()


def csv_link(frame: Any, filename: str, *, phones: Sequence[str] = ()) -> str:
    """An HTML link that downloads `frame` as CSV from the page itself (data: URI, no server),
    headers in words, phone numbers masked.

    Example:
        >>> import pandas as pd
        >>> csv_link(pd.DataFrame({"region": ["FR"]}), "t.csv")[:61]
        '<a download="t.csv" href="data:text/csv;charset=utf-8,Country'
    """
    from urllib.parse import quote

    data = _masked(frame, phones)
    data.columns = [words(c) for c in data.columns]
    text = mask_numbers(data.to_csv(index=False))
    return (
        f'<a download="{html.escape(filename)}" href="data:text/csv;charset=utf-8,{quote(text)}">'
        f"Download all {len(frame):,} rows (CSV)</a>"
    )


def frame(rows: Any) -> Any:
    """A DataFrame from a list of dicts (for library results that are plain data)."""
    import pandas as pd

    return pd.DataFrame(rows)


def findings_frame(result: Any) -> Any:
    """A compliance result's findings as a table, most severe first."""
    import pandas as pd

    cols = ["severity", "rule", "country", "recipients", "message", "source"]
    return pd.DataFrame([{k: f.get(k) for k in cols} for f in result.findings], columns=cols)
