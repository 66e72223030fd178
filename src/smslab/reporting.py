"""Reports: run a parameterised notebook with papermill, export self-contained HTML.

The HTML is safe to forward: no code cells, plotly.js embedded once (charts work offline),
no `<script src>` pointing at the network, and phone numbers masked.

Example:
    >>> from smslab.reporting import list_reports
    >>> [r["name"] for r in list_reports()]          # doctest: +SKIP
    ['delivery_funnel']
"""
from __future__ import annotations

import html
import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from smslab import config
from smslab.errors import InputError, SmslabError

_E164 = re.compile(r"(?<![\w.+])\+\d{8,15}(?![\d])")
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>\s*</script>", re.IGNORECASE)
_plotly_loaded = False


# ---- inside notebooks -------------------------------------------------------------------------

def show(fig: Any) -> None:
    """Display a plotly figure as HTML; plotly.js is embedded with the first figure only."""
    global _plotly_loaded
    from IPython.display import HTML, display

    display(HTML(fig.to_html(include_plotlyjs=not _plotly_loaded, full_html=False,
                             config={"displaylogo": False, "responsive": True})))
    _plotly_loaded = True


def header(title: str, parameters: dict[str, Any], con: Any = None) -> None:
    """A report header: title, parameters and how fresh the data is."""
    from IPython.display import HTML, display

    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in parameters.items())
    fresh = ""
    if con is not None:
        from smslab.analytics import freshness

        fresh = "".join(f"<tr><th style='text-align:left'>{k.replace('_', ' ')}</th><td>{v or '—'}</td></tr>"
                        for k, v in freshness(con).items())
    display(HTML(f"<h1>{html.escape(title)}</h1><p>Generated {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
                 f" by smslab.</p><table>{rows}{fresh}</table>"))


def latest_campaign(con: Any) -> str:
    """The id of the most recently created campaign (InputError if there is none)."""
    rows = con.execute("SELECT campaign_id FROM campaigns ORDER BY created_at DESC LIMIT 1").fetchall()
    if not rows:
        raise InputError("the database has no campaign yet: run `smslab demo` or `smslab send SPEC` first")
    return rows[0][0]


# ---- running and exporting --------------------------------------------------------------------

def list_reports() -> list[dict[str, Any]]:
    """Every notebook under notebooks/ with its parameters (name, type, default, help)."""
    import papermill

    out = []
    for path in sorted(config.notebooks_dir().glob("*.ipynb")):
        params = papermill.inspect_notebook(str(path))
        out.append({"name": path.stem, "notebook": str(path),
                    "parameters": {k: {"type": v["inferred_type_name"], "default": v["default"], "help": v["help"]}
                                   for k, v in params.items()}})
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


def export_html(notebook: str | Path, html_path: str | Path, *, title: str | None = None) -> Path:
    """Executed notebook → HTML without code, without network scripts, with numbers masked."""
    import nbformat
    from nbconvert import HTMLExporter

    from smslab.analytics import mask_msisdn

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    exporter.mathjax_url = ""
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or Path(notebook).stem}})
    body = _REMOTE_SCRIPT.sub("", body)
    body = _E164.sub(lambda m: mask_msisdn(m.group(0)) or "", body)  # a safety net behind the masked data
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def _write_index(output_dir: Path) -> Path:
    """reports/index.html: a link to the latest HTML of each report."""
    entries = []
    for page in sorted(output_dir.glob("*.html")):
        if page.name == "index.html":
            continue
        stamp = datetime.fromtimestamp(page.stat().st_mtime).astimezone()
        entries.append(f"<li><a href='{html.escape(page.name)}'>{html.escape(page.stem)}</a> — {stamp:%Y-%m-%d %H:%M %Z}</li>")
    index = output_dir / "index.html"
    index.write_text("<!doctype html><meta charset='utf-8'><title>smslab reports</title>"
                     f"<h1>smslab reports</h1><ul>{''.join(entries)}</ul>", encoding="utf-8")
    return index


def run_report(name: str, *, parameters: dict[str, Any] | None = None,
               output_dir: str | Path | None = None) -> dict[str, Any]:
    """Execute notebooks/NAME.ipynb with papermill into reports/runs/ and export reports/NAME.html."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = config.notebooks_dir() / f"{name}.ipynb"
    if not source.is_file():
        known = ", ".join(r["name"] for r in list_reports()) or "none"
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
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    executed = runs / f"{name}-{stamp}.ipynb"
    started = time.perf_counter()
    try:
        papermill.execute_notebook(str(source), str(executed), parameters=parameters, kernel_name=_kernel_name(),
                                   progress_bar=False, cwd=str(config.project_dir()))
    except PapermillExecutionError as exc:
        raise SmslabError(f"{source.name}: cell {exc.exec_count} failed: {exc.ename}: {exc.evalue} "
                          f"(executed notebook: {executed})") from None
    html_path = export_html(executed, out_dir / f"{name}.html", title=name.replace("_", " "))
    _write_index(out_dir)
    return {"html": str(html_path), "notebook": str(executed), "seconds": round(time.perf_counter() - started, 2),
            "parameters": json.loads(json.dumps(parameters, default=str))}
