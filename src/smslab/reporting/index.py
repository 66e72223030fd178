"""The list of reports: every notebook with its parameters, its latest run, and reports/index.html.

Example:
    >>> sorted(r["name"] for r in list_reports())[:2]
    ['campaign_setup', 'cost_estimate']
"""

from __future__ import annotations

import html
import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from smslab import config
from smslab.reporting.nbimport import import_nbformat


def _description(path: Path) -> str:
    """The first sentence of a notebook's first markdown cell."""
    nbformat = import_nbformat()

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
    import_nbformat()
    import papermill

    latest = latest_runs(config.reports_dir(output_dir))
    out = []
    for path in sorted(config.notebooks_dir().glob("*.ipynb")):
        params = papermill.inspect_notebook(str(path))
        out.append(
            {
                "name": path.stem,
                "notebook": str(path),
                "description": _description(path),
                "parameters": {
                    k: {"type": v["inferred_type_name"], "default": v["default"], "help": v["help"]}
                    for k, v in params.items()
                },
                "latest": latest.get(path.stem),
            }
        )
    return out


def history_path(output_dir: Path) -> Path:
    return output_dir / "runs" / "history.jsonl"


def latest_runs(output_dir: Path) -> dict[str, dict[str, Any]]:
    """The latest successful run of each report, from reports/runs/history.jsonl."""
    latest: dict[str, dict[str, Any]] = {}
    path = history_path(output_dir)
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and entry.get("name"):
                latest[entry["name"]] = entry
    return latest


def write_index(output_dir: Path) -> Path:
    """reports/index.html: a link to the latest HTML of each report, when it ran and with what."""
    latest = latest_runs(output_dir)
    entries = []
    for page in sorted(output_dir.glob("*.html")):
        if page.name == "index.html":
            continue
        run = latest.get(page.stem, {})
        when = (
            run.get("finished_at") or f"{datetime.fromtimestamp(page.stat().st_mtime).astimezone():%Y-%m-%d %H:%M %Z}"
        )
        params = ", ".join(f"{k} = {v}" for k, v in (run.get("parameters") or {}).items())
        entries.append(
            f"<tr><td><a href='{html.escape(page.name)}'>{html.escape(page.stem.replace('_', ' '))}</a></td>"
            f"<td>{html.escape(str(when))}</td><td>{html.escape(params) or '—'}</td></tr>"
        )
    index = output_dir / "index.html"
    index.write_text(
        "<!doctype html><meta charset='utf-8'><title>smslab reports</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em 1em;text-align:left}</style>"
        "<h1>smslab reports</h1><p>The latest run of each report. Phone numbers are masked.</p>"
        f"<table><tr><th>report</th><th>run at</th><th>parameters</th></tr>{''.join(entries)}</table>",
        encoding="utf-8",
    )
    return index
