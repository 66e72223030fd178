"""Executed notebook → HTML that is safe to forward: no code, no network scripts, no live
widgets, plotly.js embedded once (charts work offline), phone numbers masked.

Example::

    export_html("reports/runs/delivery_funnel-20261201T100000.ipynb", "reports/delivery_funnel.html")
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from smslab.reporting.nbimport import import_nbformat
from smslab.reporting.views.charts import PLOTLY_CONFIG, PLOTLY_MIME
from smslab.reporting.views.tables import mask_numbers

_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>\s*</script>", re.IGNORECASE)
# the lab template's MathJax loader, left with an empty URL: it would fetch the page itself as a script
_EMPTY_SCRIPT = re.compile(r"<script[^>]*\bsrc=(?:\"\"|'')[^>]*>\s*</script>", re.IGNORECASE)
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


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

    config = figure.get("config") or PLOTLY_CONFIG
    fig = {"data": figure.get("data", []), "layout": figure.get("layout", {})}
    return str(pio.to_html(fig, include_plotlyjs=False, full_html=False, config=config, validate=False))


def _plotly_js() -> str:
    """plotly.js, inline, for the page's <head> (no CDN, no require.js)."""
    from plotly.offline import get_plotlyjs

    return (
        '<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: "local"};</script>\n'
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
    )


def export_html(notebook: str | Path, html_path: str | Path, *, title: str | None = None) -> Path:
    """Executed notebook → HTML without code, without network scripts or widgets, numbers masked."""
    nbformat = import_nbformat()
    from nbconvert import HTMLExporter

    nb = _static(nbformat.read(str(notebook), as_version=4))
    exporter = HTMLExporter(
        template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    exporter.mathjax_url = ""
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or Path(notebook).stem}})
    body = _EMPTY_SCRIPT.sub("", _REMOTE_SCRIPT.sub("", body))
    if 'class="plotly-graph-div"' in body:  # plotly.js once, before the first chart's script
        body = body.replace("</head>", _plotly_js() + "</head>", 1)
    body = mask_numbers(body)  # a safety net behind the masked data
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path
