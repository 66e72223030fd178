"""Words in a report: the byline, the opening paragraph, notes, headline tiles, and paths made public.

Example:
    >>> public("/home/ana/smslab/data/smslab.duckdb: campaign demo-400-7")
    'smslab.duckdb: campaign demo-400-7'
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from smslab.reporting.views.colours import BLUE, words

_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])(?:[A-Za-z]:)?[\\/](?:[^\s:;,'\"<>\\/]+[\\/])+([^\s:;,'\"<>\\/]+)")


def public(text: Any) -> str:
    """Text safe to forward: an absolute path of this machine becomes its file name.

    Example:
        >>> public("/home/ana/smslab/data/smslab.duckdb: campaign demo-400-7")
        'smslab.duckdb: campaign demo-400-7'
    """
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1), str(text))


def header(title: str, parameters: dict[str, Any], con: Any = None) -> None:
    """A report's byline: when it was generated, then its parameters and how fresh the data is
    behind a fold (the title is the notebook's first markdown heading). Paths of this machine are
    shown by their file name only (`public`)."""
    from IPython.display import HTML, display

    def cell(value: Any) -> str:
        if isinstance(value, datetime):
            value = f"{value:%Y-%m-%d %H:%M}"
        return html.escape(public("—" if value is None or value == "" else value))

    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(words(k) if '_' in str(k) else str(k))}</th>"
        f"<td>{cell(v)}</td></tr>"
        for k, v in parameters.items()
    )
    fresh = ""
    if con is not None:
        from smslab.analytics import freshness

        fresh = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k.replace('_', ' '))} (UTC)</th><td>{cell(v)}</td></tr>"
            for k, v in freshness(con).items()
        )
    stamp = f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    display(
        HTML(
            f"<p style='color:#555'>{html.escape(title)}, generated {stamp}"
            f" by smslab.</p><details><summary>Parameters and data freshness</summary>"
            f"<table>{rows}{fresh}</table></details>"
        )
    )


def lead(text: str) -> None:
    """The report's opening paragraph (from `views.narrative`), set apart from what follows."""
    from IPython.display import HTML, display

    display(
        HTML(
            "<p class='smslab-summary' style='font-size:1.15em;line-height:1.5;max-width:60em;"
            f"padding:.6em .9em;border-left:4px solid {BLUE};background:#f4f7fb'>{html.escape(public(text))}</p>"
        )
    )


def kpis(values: dict[str, Any]) -> None:
    """Headline numbers as tiles: {'Delivered': '9,120 (91.2%)', …}."""
    from IPython.display import HTML, display

    tiles = "".join(
        "<div style='display:inline-block;min-width:9em;margin:0 .8em .8em 0;padding:.6em .9em;"
        "border:1px solid #ddd;border-radius:6px'><div style='font-size:.8em;color:#555'>"
        f"{html.escape(str(k))}</div><div style='font-size:1.4em;font-weight:600'>{html.escape(str(v))}</div></div>"
        for k, v in values.items()
    )
    display(HTML(f"<div>{tiles}</div>"))


def note(*lines: str) -> None:
    """Short paragraphs of text in the report (escaped; empty lines skipped)."""
    from IPython.display import HTML, display

    display(HTML("".join(f"<p>{html.escape(public(line))}</p>" for line in lines if line)))


def headline(kpi: dict[str, Any], stages: Sequence[str] | None = None) -> dict[str, str]:
    """Tile labels and values from `analytics.summary`: counts with their rate."""
    rates = {
        "delivered": ("delivery_rate", "of submitted"),
        "replied": ("reply_rate", "of delivered"),
        "opted_out": ("opt_out_rate", "of delivered"),
        "converted": ("conversion_rate", "of delivered"),
    }
    out: dict[str, str] = {}
    for stage in stages or ["targeted", "submitted", "delivered", "replied", "opted_out", "converted"]:
        value = f"{kpi.get(stage, 0):,}"
        if stage in rates and kpi.get(rates[stage][0]) is not None:
            value += f" ({kpi[rates[stage][0]]:.1%})"
        out[stage.replace("_", " ").capitalize()] = value
    if stages is None:
        for currency, cost in kpi.get("cost", {}).items():
            out[f"Cost ({currency})"] = f"{cost:,.2f}"
    return out
