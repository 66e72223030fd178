"""Reports: run a parameterised notebook with papermill, export self-contained HTML.

The HTML is safe to forward: no code cells, plotly.js embedded once (charts work offline),
no `<script src>` pointing at the network, and phone numbers masked.

Example:
    >>> from smslab.reporting import list_reports
    >>> # skipped in the tests: what reports/ holds varies
    >>> [r["name"] for r in list_reports()]          # doctest: +SKIP
    ['delivery_funnel']
"""
from __future__ import annotations

import contextlib
import html
import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from smslab import config
from smslab.errors import InputError, SmslabError

_E164 = re.compile(r"(?<![\w.+])\+\d{8,15}(?![\d])")
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>\s*</script>", re.IGNORECASE)
# the lab template's MathJax loader, left with an empty URL: it would fetch the page itself as a script
_EMPTY_SCRIPT = re.compile(r"<script[^>]*\bsrc=(?:\"\"|'')[^>]*>\s*</script>", re.IGNORECASE)
_REPORT_ENV = "SMSLAB_REPORT_RUN"  # set while `run_report` executes a notebook: no widgets, static output


# ---- inside notebooks -------------------------------------------------------------------------

# One colour meaning in every report and notebook: good green, waiting amber, bad red, unknown grey.
GREEN, AMBER, RED, GREY, BLUE = "#2e7d32", "#f9a825", "#c62828", "#9e9e9e", "#1f5f99"
COLOURS: dict[str, str] = {
    # compliance decisions and severities
    "allowed": GREEN, "deferred": AMBER, "blocked": RED, "info": GREY, "warn": AMBER, "block": RED,
    # message statuses: delivered, on the way, failed, unknown
    "delivered": GREEN, "queued": AMBER, "submitted": AMBER, "sent": AMBER, "pending": AMBER,
    "undelivered": RED, "expired": RED, "rejected": RED, "failed": RED, "unknown": GREY,
    # failures: permanent ones are lost, temporary ones can be retried
    "permanent": RED, "temporary": AMBER,
    # sender types in the country brief
    "usable": GREEN, "not allowed": RED,
}
"""Colour of each status word; charts use it through `show`, which recolours traces and pie
slices by name. Anything else (countries, sender types, keywords…) is drawn from NEUTRAL, which
has no green, amber, red or grey, so no colour says "good" or "bad" by accident."""
NEUTRAL = [BLUE, "#7b4fa0", "#17877f", "#5c6bc0", "#a0522d", "#d16ba5", "#3f3f8f", "#4e9ac7"]

# Column names in words, for axis titles, legends, hover labels and table headers.
LABELS: dict[str, str] = {
    "region": "Country", "country": "Country", "recipients": "Recipients", "number_type": "Number type",
    "time_zone": "Time zone", "local_time": "Local time", "next_allowed_local": "Next allowed time (local)",
    "sender_type": "Sender type", "sender_id": "Sender", "total_converted": "Total cost", "total": "Total",
    "lead_time_weeks": "Weeks to get ready", "launch_in_weeks": "Weeks to launch", "monthly_volume": "Messages a month",
    "count": "Recipients", "stage": "Stage", "status": "Status", "messages": "Messages", "seconds": "Seconds",
    "percentile": "Percentile", "p50_s": "Median (s)", "p90_s": "90th percentile (s)", "p99_s": "99th percentile (s)",
    "max_s": "Slowest (s)", "period": "Time", "opt_outs": "Opt-outs", "replies": "Replies", "keyword": "Keyword",
    "intent": "Intent", "cumulative_opt_out_rate": "Opt-out rate so far",
    "cost_per_delivered": "Cost per delivered message",
    "currency": "Currency", "group": "Variant", "variant": "Variant", "operator": "Operator", "hour": "Hour (UTC)",
    "value": "Recipients", "variable": "Decision", "share_of_targeted": "Share of targeted",
    "share_of_previous": "Share of the stage before", "delivery_rate": "Delivery rate", "reply_rate": "Reply rate",
    "opt_out_rate": "Opt-out rate", "conversion_rate": "Conversion rate", "opt_out_rate_low": "Opt-out rate, low",
    "opt_out_rate_high": "Opt-out rate, high", "ci_low": "95 % interval, low", "ci_high": "95 % interval, high",
    "diff": "Difference to A", "diff_ci_low": "Difference, low", "diff_ci_high": "Difference, high",
    "p_value": "p-value", "trials": "Messages", "successes": "Successes", "rate": "Rate",
    "opted_out": "Opted out", "ready_by_launch": "Ready by launch", "known_total": "Known total",
    "total_status": "Total is", "per_message": "Per message", "recurring": "Recurring", "setup": "Setup",
    "allowed": "Allowed", "recommended": "Recommended", "reason": "Why", "permanent": "Permanent",
    "temporary": "Temporary", "unknown": "Unknown", "severity": "Severity", "rule": "Rule", "message": "Finding",
    "source": "Source", "percent": "Percent",
}
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def words(name: Any) -> str:
    """A column name as people read it: `LABELS`, else underscores to spaces, first letter up.

    Example:
        >>> words("lead_time_weeks"), words("operator_name")
        ('Weeks to get ready', 'Operator name')
    """
    text = str(name)
    if text in LABELS:
        return LABELS[text]
    return (text[:1].upper() + text[1:]).replace("_", " ") if "_" in text or text.islower() else text


_HOVER_NAME = re.compile(r"(^|<br>)([A-Za-z_][A-Za-z0-9_ ]*)=")


def styled(fig: Any) -> Any:
    """The figure in the reports' words and colours: axis, legend and hover names in words
    (`words`), traces and pie slices named after a status in its `COLOURS`, a readable height."""
    neutral: dict[str, str] = {}
    for trace in fig.data:
        name = getattr(trace, "name", None)
        if trace.type in ("bar", "scatter", "funnel") and str(name or "") not in COLOURS:
            colour = neutral.setdefault(str(name or ""), NEUTRAL[len(neutral) % len(NEUTRAL)])
            trace.update(marker_color=colour, **({"line_color": colour} if trace.type == "scatter" else {}))
        if name and str(name) in COLOURS and trace.type in ("bar", "scatter", "funnel"):
            if trace.type == "scatter":
                trace.update(marker_color=COLOURS[str(name)], line_color=COLOURS[str(name)])
            else:
                trace.update(marker_color=COLOURS[str(name)])
        if trace.type == "pie" and trace.labels is not None:
            trace.update(marker_colors=[COLOURS.get(str(label)) or NEUTRAL[i % len(NEUTRAL)]
                                        for i, label in enumerate(trace.labels)])
        if name:
            trace.update(name=words(name))
        template = getattr(trace, "hovertemplate", None)
        if template:
            trace.update(hovertemplate=_HOVER_NAME.sub(lambda m: m.group(1) + words(m.group(2).strip()) + "=",
                                                       template))
    layout = fig.layout
    for axis in ("xaxis", "yaxis"):
        title = getattr(layout, axis).title.text
        if title:
            getattr(layout, axis).title.text = words(title)
    if layout.legend.title.text:
        layout.legend.title.text = words(layout.legend.title.text)
    if layout.height is None:
        layout.height = 420
    return fig


def show(fig: Any) -> None:
    """Display a plotly figure through plotly's own Jupyter mimetype: JupyterLab draws it with its
    plotly renderer, and `export_html` turns it into HTML with plotly.js embedded once per page.
    Nothing is remembered between calls, so a reloaded page or a restarted kernel draws the same."""
    from IPython.display import display

    figure = json.loads(styled(fig).to_json())
    bundle = {PLOTLY_MIME: {"data": figure.get("data", []), "layout": figure.get("layout", {}),
                            "config": _PLOTLY_CONFIG},
              "text/plain": f"<chart: {figure.get('layout', {}).get('title', {}).get('text') or 'plotly figure'}>"}
    display(bundle, raw=True)


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

    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(words(k) if '_' in str(k) else str(k))}</th>"
                   f"<td>{cell(v)}</td></tr>" for k, v in parameters.items())
    fresh = ""
    if con is not None:
        from smslab.analytics import freshness

        fresh = "".join(f"<tr><th style='text-align:left'>{html.escape(k.replace('_', ' '))} (UTC)</th>"
                        f"<td>{cell(v)}</td></tr>" for k, v in freshness(con).items())
    stamp = f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    display(HTML(f"<p style='color:#555'>{html.escape(title)}, generated {stamp}"
                 f" by smslab.</p><details><summary>Parameters and data freshness</summary>"
                 f"<table>{rows}{fresh}</table></details>"))


def lead(text: str) -> None:
    """The report's opening paragraph (from `smslab.narrative`), set apart from what follows."""
    from IPython.display import HTML, display

    display(HTML("<p class='smslab-summary' style='font-size:1.15em;line-height:1.5;max-width:60em;"
                 f"padding:.6em .9em;border-left:4px solid {BLUE};background:#f4f7fb'>{html.escape(public(text))}</p>"))


def interactive() -> bool:
    """True in a live Jupyter session; False under `smslab report run` (papermill), where widgets
    would export as dead boxes, and outside IPython.

    Example:
        >>> interactive()          # a plain Python process
        False
    """
    if os.environ.get(_REPORT_ENV) == "1":
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def explore(render: Callable[[Any], None], label: str, choices: Sequence[Any], *, static: str = "all") -> None:
    """An ipywidgets dropdown over `choices` that re-runs `render(choice)` in Jupyter; under
    papermill (static output) `render` runs for every choice (`static="all"`) or the first.

    Example (in a notebook)::

        reporting.explore(lambda d: reporting.show(px.bar(analytics.delivery_by(con, cid, d), x=d, y="delivery_rate")),
                          "Group by", ["region", "operator", "sender_type"])
    """
    choices = list(choices)
    if not choices:
        return
    if interactive():
        import ipywidgets
        from IPython.display import display

        out = ipywidgets.Output()
        dropdown = ipywidgets.Dropdown(options=choices, value=choices[0], description=label)

        def redraw(*_: Any) -> None:
            with out:
                out.clear_output(wait=True)
                render(dropdown.value)

        dropdown.observe(redraw, names="value")
        display(ipywidgets.VBox([dropdown, out]))
        redraw()
        return
    for choice in (choices if static == "all" else choices[:1]):
        render(choice)


def table(frame: Any, *, percent: Iterable[str] = (), money: Iterable[str] = (), decimals: Iterable[str] = (),
          max_rows: int = 20, name: str = "table") -> None:
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
        more = (f"<p><em>The first {max_rows:,} of {len(frame):,} rows.</em> "
                f"{csv_link(frame, f'{name}.csv', phones=phones)}</p>")
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

    from smslab.masking import mask_msisdn

    data = _masked(frame, phones)
    data.columns = [words(c) for c in data.columns]
    text = _E164.sub(lambda m: mask_msisdn(m.group(0)) or "", data.to_csv(index=False))
    return (f'<a download="{html.escape(filename)}" href="data:text/csv;charset=utf-8,{quote(text)}">'
            f"Download all {len(frame):,} rows (CSV)</a>")


def kpis(values: dict[str, Any]) -> None:
    """Headline numbers as tiles: {'Delivered': '9,120 (91.2%)', …}."""
    from IPython.display import HTML, display

    tiles = "".join(
        "<div style='display:inline-block;min-width:9em;margin:0 .8em .8em 0;padding:.6em .9em;"
        "border:1px solid #ddd;border-radius:6px'><div style='font-size:.8em;color:#555'>"
        f"{html.escape(str(k))}</div><div style='font-size:1.4em;font-weight:600'>{html.escape(str(v))}</div></div>"
        for k, v in values.items())
    display(HTML(f"<div>{tiles}</div>"))


def note(*lines: str) -> None:
    """Short paragraphs of text in the report (escaped; empty lines skipped)."""
    from IPython.display import HTML, display

    display(HTML("".join(f"<p>{html.escape(public(line))}</p>" for line in lines if line)))


def check_parameters(**checks: tuple[Any, Any]) -> None:
    """Validate notebook parameters (papermill only warns about unknown names): each keyword is
    `name=(value, allowed)` where allowed is a list of values, "positive" or "non-negative".

    Example:
        >>> check_parameters(freq=("hour", ["hour", "day"]), months=(3, "positive"))
        >>> check_parameters(freq=("week", ["hour", "day"]))
        Traceback (most recent call last):
        smslab.errors.InputError: parameter freq: expected one of hour, day, got 'week'
    """
    for name, (value, allowed) in checks.items():
        if isinstance(allowed, (list, tuple)):
            if value not in allowed:
                raise InputError(f"parameter {name}: expected one of {', '.join(map(str, allowed))}, got {value!r}")
        elif allowed in ("positive", "non-negative"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
                value > 0 if allowed == "positive" else value >= 0)
            if not ok:
                raise InputError(f"parameter {name}: expected a {allowed} number, got {value!r}")


def frame(rows: Any) -> Any:
    """A DataFrame from a list of dicts (for library results that are plain data)."""
    import pandas as pd

    return pd.DataFrame(rows)


def findings_frame(result: Any) -> Any:
    """A compliance result's findings as a table, most severe first."""
    import pandas as pd

    cols = ["severity", "rule", "country", "recipients", "message", "source"]
    return pd.DataFrame([{k: f.get(k) for k in cols} for f in result.findings], columns=cols)


def headline(kpi: dict[str, Any], stages: Sequence[str] | None = None) -> dict[str, str]:
    """Tile labels and values from `analytics.summary`: counts with their rate."""
    rates = {"delivered": ("delivery_rate", "of submitted"), "replied": ("reply_rate", "of delivered"),
             "opted_out": ("opt_out_rate", "of delivered"), "converted": ("conversion_rate", "of delivered")}
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


def rate_bars(data: Any, x: str, rate: str, *, low: str | None = None, high: str | None = None,
              title: str = "") -> Any:
    """A bar chart of a rate (as %) with its confidence interval as error bars."""
    import plotly.express as px

    low, high = low or f"{rate}_low", high or f"{rate}_high"
    frame = data[[x, rate, low, high]].copy()
    frame[x] = frame[x].astype(str)
    frame["plus"] = (frame[high] - frame[rate]) * 100
    frame["minus"] = (frame[rate] - frame[low]) * 100
    frame["percent"] = frame[rate] * 100
    fig = px.bar(frame, x=x, y="percent", error_y="plus", error_y_minus="minus", title=title,
                 labels={"percent": f"{words(rate)} (%)", x: words(x)},
                 hover_data={"plus": False, "minus": False})
    fig.update_traces(marker_color=BLUE)
    return fig


def resolve_campaign(con: Any, campaign_id: str | None = None) -> str:
    """`campaign_id` if the database has it, the most recent campaign when it is empty;
    InputError otherwise, naming the campaigns there are."""
    rows = [r[0] for r in con.execute("SELECT campaign_id FROM campaigns ORDER BY created_at DESC").fetchall()]
    if not rows:
        raise InputError("the database has no campaign yet: run `smslab demo` or `smslab send SPEC` first")
    if not campaign_id:
        return rows[0]
    if campaign_id not in rows:
        shown = ", ".join(rows[:10]) + (" …" if len(rows) > 10 else "")
        raise InputError(f"no campaign {campaign_id!r} in the database; it has: {shown}")
    return campaign_id


# ---- running and exporting --------------------------------------------------------------------

def _description(path: Path) -> str:
    """The first sentence of a notebook's first markdown cell."""
    nbformat = _import_nbformat()

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        body = "\n".join(ln for ln in cell.source.splitlines() if not ln.lstrip().startswith("#"))
        if cell.cell_type == "markdown" and body.strip():
            text = re.sub(r"\s+", " ", re.sub(r"[*`]", "", body)).strip()
            return text.split(". ")[0].rstrip(".") + "."
    return ""


def list_reports(output_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every notebook under notebooks/: name, description, parameters (type, default, help) and
    its latest run (None if never run into `output_dir`).

    Example:
        >>> sorted(r["name"] for r in list_reports())[:2]
        ['campaign_setup', 'cost_estimate']
    """
    _import_nbformat()
    import papermill

    latest = _latest_runs(config.reports_dir(output_dir))
    out = []
    for path in sorted(config.notebooks_dir().glob("*.ipynb")):
        params = papermill.inspect_notebook(str(path))
        out.append({"name": path.stem, "notebook": str(path), "description": _description(path),
                    "parameters": {k: {"type": v["inferred_type_name"], "default": v["default"], "help": v["help"]}
                                   for k, v in params.items()},
                    "latest": latest.get(path.stem)})
    return out


def _coerce(name: str, value: Any, declared: str) -> Any:
    if not isinstance(value, str) or declared in ("str", "None"):
        return value
    try:
        if declared == "bool":
            lowered = value.strip().lower()
            if lowered in {"true", "1", "yes"}:
                return True
            if lowered in {"false", "0", "no"}:
                return False
            raise ValueError
        if declared == "int":
            return int(value)
        if declared == "float":
            return float(value)
    except ValueError:
        raise InputError(f"parameter {name}: expected {declared}, got {value!r}") from None
    return value


def _kernel_name() -> str:
    from jupyter_client.kernelspec import find_kernel_specs

    return "smslab" if "smslab" in find_kernel_specs() else "python3"


_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _kernel_manager_class() -> Any:
    """The kernel manager papermill uses: on POSIX the kernel talks over Unix sockets (IPC) in
    Jupyter's private runtime folder rather than loopback TCP, so nobody else on the machine can
    connect to it, and ipykernel has no reason to print its "running over TCP without encryption"
    warning four times per `make demo`."""
    from jupyter_client.manager import AsyncKernelManager

    if os.name != "posix":  # pragma: no cover - Windows has no IPC transport
        return AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            import uuid

            from jupyter_core.paths import jupyter_runtime_dir

            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("transport", "ipc")
            # one socket prefix per kernel: jupyter_client's default ("kernel-ipc" in the working
            # folder) is shared by kernels started at the same time, which then read each other's messages
            kwargs.setdefault("ip", str(runtime / f"smslab-{uuid.uuid4().hex[:12]}-ipc"))
            super().__init__(**kwargs)

    return IPCKernelManager


def _static(nb: Any) -> Any:
    """Drop live-widget views and state (they need a widget manager from a CDN), keeping the
    other representations of each output; turn plotly's mimetype into a chart div (plotly.js is
    added once per page by `export_html`)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and PLOTLY_MIME in data:
                data["text/html"] = _chart_div(data.pop(PLOTLY_MIME))
            if data and _WIDGET_MIME in data:
                data.pop(_WIDGET_MIME)
                if set(data) <= {"text/plain"}:
                    data["text/plain"] = ""
    return nb


def _chart_div(figure: dict[str, Any]) -> str:
    """A plotly figure (the mimetype's JSON) as a div and the inline script that draws it."""
    import plotly.io as pio

    config = figure.get("config") or _PLOTLY_CONFIG
    fig = {"data": figure.get("data", []), "layout": figure.get("layout", {})}
    return str(pio.to_html(fig, include_plotlyjs=False, full_html=False, config=config, validate=False))


def _plotly_js() -> str:
    """plotly.js, inline, for the page's <head> (no CDN, no require.js)."""
    from plotly.offline import get_plotlyjs

    return ('<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: "local"};</script>\n'
            f'<script type="text/javascript">{get_plotlyjs()}</script>\n')


def _import_nbformat() -> Any:
    """Import nbformat without jsonschema's optional rfc3987-syntax, which compiles ~40 grammars
    at import (about 5 s per `smslab report run`) for URI formats notebook validation never uses."""
    if "nbformat" not in sys.modules and "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes its import fail fast
        try:
            import nbformat
        finally:
            sys.modules.pop("rfc3987_syntax", None)  # anyone who needs it later can still import it
    import nbformat

    return nbformat


def export_html(notebook: str | Path, html_path: str | Path, *, title: str | None = None) -> Path:
    """Executed notebook → HTML without code, without network scripts or widgets, numbers masked."""
    nbformat = _import_nbformat()
    from nbconvert import HTMLExporter

    from smslab.masking import mask_msisdn

    nb = _static(nbformat.read(str(notebook), as_version=4))
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    exporter.mathjax_url = ""
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or Path(notebook).stem}})
    body = _EMPTY_SCRIPT.sub("", _REMOTE_SCRIPT.sub("", body))
    if 'class="plotly-graph-div"' in body:  # plotly.js once, before the first chart's script
        body = body.replace("</head>", _plotly_js() + "</head>", 1)
    body = _E164.sub(lambda m: mask_msisdn(m.group(0)) or "", body)  # a safety net behind the masked data
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def _history(output_dir: Path) -> Path:
    return output_dir / "runs" / "history.jsonl"


def _latest_runs(output_dir: Path) -> dict[str, dict[str, Any]]:
    """The latest successful run of each report, from reports/runs/history.jsonl."""
    latest: dict[str, dict[str, Any]] = {}
    path = _history(output_dir)
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and entry.get("name"):
                latest[entry["name"]] = entry
    return latest


def _write_index(output_dir: Path) -> Path:
    """reports/index.html: a link to the latest HTML of each report, when it ran and with what."""
    latest = _latest_runs(output_dir)
    entries = []
    for page in sorted(output_dir.glob("*.html")):
        if page.name == "index.html":
            continue
        run = latest.get(page.stem, {})
        when = (run.get("finished_at")
                or f"{datetime.fromtimestamp(page.stat().st_mtime).astimezone():%Y-%m-%d %H:%M %Z}")
        params = ", ".join(f"{k} = {v}" for k, v in (run.get("parameters") or {}).items())
        entries.append(f"<tr><td><a href='{html.escape(page.name)}'>{html.escape(page.stem.replace('_', ' '))}</a></td>"
                       f"<td>{html.escape(str(when))}</td><td>{html.escape(params) or '—'}</td></tr>")
    index = output_dir / "index.html"
    index.write_text("<!doctype html><meta charset='utf-8'><title>smslab reports</title>"
                     "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em 1em;text-align:left}</style>"
                     "<h1>smslab reports</h1><p>The latest run of each report. Phone numbers are masked.</p>"
                     f"<table><tr><th>report</th><th>run at</th><th>parameters</th></tr>{''.join(entries)}</table>",
                     encoding="utf-8")
    return index


_mode_lock = threading.Lock()
_mode_users: list[Any] = [0, None]  # runs in progress, the value before the first


@contextlib.contextmanager
def _report_mode() -> Iterator[None]:
    """Tell the kernel (which inherits the environment) to render static output; safe when
    several reports run at once in threads."""
    with _mode_lock:
        if _mode_users[0] == 0:
            _mode_users[1] = os.environ.get(_REPORT_ENV)
        _mode_users[0] += 1
        os.environ[_REPORT_ENV] = "1"
    try:
        yield
    finally:
        with _mode_lock:
            _mode_users[0] -= 1
            if _mode_users[0] == 0:
                if _mode_users[1] is None:
                    os.environ.pop(_REPORT_ENV, None)
                else:
                    os.environ[_REPORT_ENV] = _mode_users[1]


def _closing_its_event_loop(run: Callable[[], Any]) -> Any:
    """`run()`, then close the asyncio event loop it made for this thread.

    papermill drives the kernel through jupyter_core's `run_sync`, which makes an event loop per
    thread, keeps it in a context variable and never closes it: each report run in a worker thread
    left one open (ResourceWarning "unclosed event loop"). Run in a copy of the context, the loop
    stays reachable, and is closed once the run is over.
    """
    import asyncio
    import contextvars

    context = contextvars.copy_context()
    before = [v for v in context.values() if isinstance(v, asyncio.AbstractEventLoop)]
    try:
        return context.run(run)
    finally:
        made = [v for v in context.values()
                if isinstance(v, asyncio.AbstractEventLoop) and not any(v is b for b in before)]
        for loop in made:
            if not loop.is_running() and not loop.is_closed():
                loop.close()
        if made:
            asyncio.set_event_loop(None)  # it was set as this thread's loop; a closed one is no use


def _failed_cell(exc: Any, executed: Path) -> str:
    """'cell 7 (`stages = analytics.funnel(…)`)' from a papermill error."""
    first = next((ln.strip() for ln in (exc.source or "").splitlines() if ln.strip() and not ln.startswith("#")), "")
    if len(first) > 80:
        first = first[:77] + "…"
    number = exc.exec_count if exc.exec_count is not None else exc.cell_index
    return f"cell {number} (`{first}`)"


def run_report(name: str, *, parameters: dict[str, Any] | None = None,
               output_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Execute notebooks/NAME.ipynb with papermill into reports/runs/ and export reports/NAME.html.

    A failing cell raises `SmslabError` naming the cell, its first line and the error; the
    executed notebook stays in reports/runs/ for a closer look.

    Example::

        run_report("delivery_funnel", parameters={"campaign_id": "demo-400-7"})
        {'html': 'reports/delivery_funnel.html', 'notebook': 'reports/runs/delivery_funnel-….ipynb', 'seconds': 6.1, …}
    """
    _import_nbformat()
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = config.notebooks_dir() / f"{name}.ipynb"
    if not source.is_file():
        known = ", ".join(r["name"] for r in list_reports(output_dir)) or "none"
        raise InputError(f"no report named {name!r} (known: {known})")
    declared = papermill.inspect_notebook(str(source))
    parameters = dict(parameters or {})
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise InputError(f"{source.name}: unknown parameter(s) {', '.join(unknown)}; "
                         f"this report takes: {', '.join(declared) or 'none'}")
    parameters = {k: _coerce(k, v, declared[k]["inferred_type_name"]) for k, v in parameters.items()}
    out_dir = config.reports_dir(output_dir)
    runs = out_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
    executed = runs / f"{name}-{stamp}.ipynb"
    started = time.perf_counter()
    if "db" in declared:  # a writer holding the database: wait here, where the user sees it
        from smslab import store

        store.wait_until_free(parameters.get("db") or None)
    try:
        with _report_mode():
            _closing_its_event_loop(lambda: papermill.execute_notebook(
                str(source), str(executed), parameters=parameters, kernel_name=_kernel_name(), progress_bar=False,
                cwd=str(config.project_dir()), kernel_manager_class=_kernel_manager_class(),
                # the kernel's own log (e.g. "KeyboardInterrupt caught in kernel" when jupyter_client
                # interrupts it before shutting it down) is not for the user; a failing cell comes back
                # through papermill, named below
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"]))
    except PapermillExecutionError as exc:
        raise SmslabError(f"{source.name}: {_failed_cell(exc, executed)} failed: {exc.ename}: {exc.evalue} "
                          f"(executed notebook: {executed})") from None
    html_path = export_html(executed, out_dir / f"{name}.html", title=name.replace("_", " "))
    result = {"html": str(html_path), "notebook": str(executed), "seconds": round(time.perf_counter() - started, 2),
              "parameters": json.loads(json.dumps(parameters, default=str))}
    with _history(out_dir).open("a", encoding="utf-8") as log:
        log.write(json.dumps({"name": name, **result,
                              "finished_at": f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"}) + "\n")
    _write_index(out_dir)
    return result
