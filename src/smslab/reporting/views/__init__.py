"""Report views: what a notebook cell calls to show a result to people.

    colours      one colour meaning (COLOURS) and column names in words (LABELS, `words`)
    charts       `show` a plotly figure in those words and colours; `rate_bars` with intervals
    tables       `table` for people (long ones as a CSV link), `csv_link`, phone numbers masked
    text         the byline (`header`), the opening paragraph (`lead`), `note`, `kpis` tiles
    interactive  `explore`: a menu in Jupyter, every choice in a report run
    parameters   `check_parameters`, `resolve_campaign`
    planning     pre-send tables: audience, decisions, send windows, texts, sender options
    narrative    the plain-words paragraph at the top of each report

The helpers are re-exported here and by `smslab.reporting` (notebooks call `reporting.show`);
`planning` and `narrative` are imported as modules.

Example:
    >>> from smslab.reporting import views
    >>> views.words("opt_out_rate")
    'Opt-out rate'
"""

from __future__ import annotations

from smslab.reporting.views.charts import PLOTLY_MIME, rate_bars, show, styled
from smslab.reporting.views.colours import AMBER, BLUE, COLOURS, GREEN, GREY, LABELS, NEUTRAL, RED, words
from smslab.reporting.views.interactive import explore, interactive
from smslab.reporting.views.parameters import check_parameters, resolve_campaign
from smslab.reporting.views.tables import csv_link, findings_frame, frame, table
from smslab.reporting.views.text import header, headline, kpis, lead, note, public

__all__ = [
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
