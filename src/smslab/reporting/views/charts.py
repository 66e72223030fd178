"""Charts in the reports' words and colours, displayed through plotly's own Jupyter mimetype.

`show` is what a notebook cell calls; `reporting.export` turns the mimetype into HTML with
plotly.js embedded once per page.

Example (in a notebook)::

    reporting.show(px.bar(frame, x="region", y=["allowed", "deferred", "blocked"]))
"""

from __future__ import annotations

import json
import re
from typing import Any

from smslab.reporting.views.colours import BLUE, COLOURS, NEUTRAL, words

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
PLOTLY_MIME = "application/vnd.plotly.v1+json"


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
            trace.update(
                marker_colors=[
                    COLOURS.get(str(label)) or NEUTRAL[i % len(NEUTRAL)] for i, label in enumerate(trace.labels)
                ]
            )
        if name:
            trace.update(name=words(name))
        template = getattr(trace, "hovertemplate", None)
        if template:
            trace.update(
                hovertemplate=_HOVER_NAME.sub(lambda m: m.group(1) + words(m.group(2).strip()) + "=", template)
            )
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
    bundle = {
        PLOTLY_MIME: {"data": figure.get("data", []), "layout": figure.get("layout", {}), "config": PLOTLY_CONFIG},
        "text/plain": f"<chart: {figure.get('layout', {}).get('title', {}).get('text') or 'plotly figure'}>",
    }
    display(bundle, raw=True)


def rate_bars(data: Any, x: str, rate: str, *, low: str | None = None, high: str | None = None, title: str = "") -> Any:
    """A bar chart of a rate (as %) with its confidence interval as error bars."""
    import plotly.express as px

    low, high = low or f"{rate}_low", high or f"{rate}_high"
    frame = data[[x, rate, low, high]].copy()
    frame[x] = frame[x].astype(str)
    frame["plus"] = (frame[high] - frame[rate]) * 100
    frame["minus"] = (frame[rate] - frame[low]) * 100
    frame["percent"] = frame[rate] * 100
    fig = px.bar(
        frame,
        x=x,
        y="percent",
        error_y="plus",
        error_y_minus="minus",
        title=title,
        labels={"percent": f"{words(rate)} (%)", x: words(x)},
        hover_data={"plus": False, "minus": False},
    )
    fig.update_traces(marker_color=BLUE)
    return fig
