"""Reports: parameterised notebooks run with papermill and exported as self-contained HTML.

    runner    `run_report`: execute notebooks/NAME.ipynb (parameters checked), export, record the run
    export    `export_html`: no code, no network scripts, plotly.js once, phone numbers masked
    index     `list_reports` and reports/index.html (the latest run of each report)
    views/    what the notebooks show: charts, tables, text, menus, planning tables, narrative

The HTML is safe to forward. The view helpers are re-exported here, so a notebook cell reads
`reporting.show(fig)`, `reporting.table(frame)`.

Example:
    >>> from smslab import reporting
    >>> # skipped in the tests: what reports/ holds varies
    >>> [r["name"] for r in reporting.list_reports()]          # doctest: +SKIP
    ['delivery_funnel']
"""

from __future__ import annotations

from smslab.reporting.export import export_html
from smslab.reporting.index import list_reports
from smslab.reporting.runner import run_report
from smslab.reporting.views import (
    AMBER,
    BLUE,
    COLOURS,
    GREEN,
    GREY,
    LABELS,
    NEUTRAL,
    PLOTLY_MIME,
    RED,
    check_parameters,
    csv_link,
    explore,
    findings_frame,
    frame,
    header,
    headline,
    interactive,
    kpis,
    lead,
    note,
    public,
    rate_bars,
    resolve_campaign,
    show,
    styled,
    table,
    words,
)

__all__ = [
    "export_html",
    "list_reports",
    "run_report",
    "AMBER",
    "BLUE",
    "COLOURS",
    "GREEN",
    "GREY",
    "LABELS",
    "NEUTRAL",
    "PLOTLY_MIME",
    "RED",
    "check_parameters",
    "csv_link",
    "explore",
    "findings_frame",
    "frame",
    "header",
    "headline",
    "interactive",
    "kpis",
    "lead",
    "note",
    "public",
    "rate_bars",
    "resolve_campaign",
    "show",
    "styled",
    "table",
    "words",
]
