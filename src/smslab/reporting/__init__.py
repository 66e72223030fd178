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

from smslab.reporting import views
from smslab.reporting.export import export_html
from smslab.reporting.index import list_reports
from smslab.reporting.runner import run_report
from smslab.reporting.views import *  # noqa: F403  (the notebooks' cell helpers: views.__all__)

__all__ = ["export_html", "list_reports", "run_report", *views.__all__]
