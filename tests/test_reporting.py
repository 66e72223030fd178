"""Reporting without the four real notebooks: export safety, parameters, failures, the CLI."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from smslab import reporting, store
from smslab.cli import cli
from smslab.errors import InputError
from smslab.reporting.runner import _report_mode
from smslab.reporting.views.interactive import REPORT_ENV


def _executed_notebook(path):
    nb = new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells = [
        new_markdown_cell("Intro for +33612345678's manager"),
        new_code_cell(
            "secret_code_here()",
            outputs=[
                new_output(
                    "display_data", data={"text/html": "<p>call +33612345678 or +1 415 555 2671</p>", "text/plain": "x"}
                ),
                new_output(
                    "display_data",
                    data={
                        "application/vnd.jupyter.widget-view+json": {"model_id": "abc"},
                        "text/plain": "Dropdown(...)",
                    },
                ),
            ],
        ),
    ]
    nbformat.write(nb, str(path))
    return path


def test_export_html_has_no_code_no_network_no_widgets_and_masks(tmp_path):
    out = reporting.export_html(_executed_notebook(tmp_path / "run.ipynb"), tmp_path / "r.html")
    page = out.read_text(encoding="utf-8")
    assert "secret_code_here" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert "widget-view" not in page and "widget-state" not in page and "Dropdown(...)" not in page
    assert "+33612345678" not in page and "+33 6•• •• •• 78" in page
    assert "Intro for" in page


def test_list_reports_describes_each_parameter():
    reports = {r["name"]: r for r in reporting.list_reports()}
    assert set(reports) == {"campaign_setup", "cost_estimate", "country_brief", "delivery_funnel", "optout_keywords"}
    params = reports["delivery_funnel"]["parameters"]
    assert params["metric"] == {
        "type": "str",
        "default": '"replied"',
        "help": "A/B metric: delivered, replied, opted_out or converted",
    }
    assert params["attribution_days"]["type"] == "float"


def test_run_report_rejects_unknown_names_parameters_and_types():
    with pytest.raises(InputError, match=r"no report named 'nope' \(known: campaign_setup, cost_estimate"):
        reporting.run_report("nope")
    with pytest.raises(InputError, match="unknown parameter.*colour.*takes: db, campaign_id"):
        reporting.run_report("delivery_funnel", parameters={"colour": "red"})
    with pytest.raises(InputError, match="parameter attribution_days: expected float, got 'soon'"):
        reporting.run_report("delivery_funnel", parameters={"attribution_days": "soon"})


def test_check_parameters():
    reporting.check_parameters(
        metric=("replied", ["replied", "delivered"]), days=(0.5, "positive"), volume=(0, "non-negative")
    )
    with pytest.raises(InputError, match="parameter days: expected a positive number, got 0"):
        reporting.check_parameters(days=(0, "positive"))
    with pytest.raises(InputError, match="expected one of replied, delivered, got 'clicks'"):
        reporting.check_parameters(metric=("clicks", ["replied", "delivered"]))


def test_explore_renders_every_choice_statically_outside_jupyter():
    seen = []
    assert reporting.interactive() is False
    reporting.explore(seen.append, "Group by", ["region", "variant"])
    reporting.explore(seen.append, "Country", ["all", "FR"], static="first")
    assert seen == ["region", "variant", "all"]


def test_report_mode_is_restored():
    import os

    assert REPORT_ENV not in os.environ
    with _report_mode():
        with _report_mode():
            assert os.environ[REPORT_ENV] == "1"
            assert reporting.interactive() is False
        assert os.environ[REPORT_ENV] == "1"
    assert REPORT_ENV not in os.environ


def test_cli_report_list_json():
    result = CliRunner().invoke(cli, ["report", "list", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [r["name"] for r in doc] == [
        "campaign_setup",
        "cost_estimate",
        "country_brief",
        "delivery_funnel",
        "optout_keywords",
    ]


def test_cli_report_run_names_the_failing_cell(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "notebooks").mkdir(parents=True)
    (home / "data").mkdir()
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_code_cell("divisor: int = 0  # what to divide by"),
        new_code_cell("ratio = 1\nresult = ratio / divisor"),
    ]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(home / "notebooks" / "broken.ipynb"))
    monkeypatch.setenv("SMSLAB_HOME", str(home))
    result = CliRunner().invoke(
        cli, ["report", "run", "broken", "-p", "divisor", "0", "--output-dir", str(tmp_path / "out"), "--json"]
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "broken.ipynb: cell" in result.stderr and "(`ratio = 1`) failed: ZeroDivisionError" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "broken.html").exists()


def test_explore_is_a_live_menu_in_jupyter_and_static_in_the_export(tmp_path):
    """In a kernel with no SMSLAB_REPORT_RUN (JupyterLab), explore() shows an ipywidgets menu;
    the exported HTML drops the live widget."""
    import os

    from nbclient import NotebookClient

    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_code_cell(
            "from smslab import reporting\n"
            "print('interactive', reporting.interactive())\n"
            "reporting.explore(lambda c: print('chose', c), 'Group by', ['region', 'variant'])"
        )
    ]
    assert REPORT_ENV not in os.environ
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "interactive True" in text
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert not any(o.output_type == "error" for o in outputs)
    path = tmp_path / "live.ipynb"
    nbformat.write(nb, str(path))
    page = reporting.export_html(path, tmp_path / "live.html").read_text(encoding="utf-8")
    assert "widget-view" not in page and "interactive True" in page


def test_resolve_campaign_names_an_unknown_campaign(tmp_path):
    from smslab.errors import InputError

    con = store.connect(tmp_path / "r.duckdb")
    with pytest.raises(InputError, match="no campaign yet"):
        reporting.resolve_campaign(con, "")
    con.execute(
        "INSERT INTO campaigns VALUES ('old', 'old', 'marketing', true, '{}', '2026-11-01'), "
        "('new', 'new', 'marketing', true, '{}', '2026-11-20')"
    )
    assert reporting.resolve_campaign(con, "") == "new"
    assert reporting.resolve_campaign(con, "old") == "old"
    with pytest.raises(InputError, match="no campaign 'typo' in the database; it has: new, old"):
        reporting.resolve_campaign(con, "typo")


def test_one_colour_meaning_and_words_in_charts():
    import pandas as pd
    import plotly.express as px

    frame = pd.DataFrame({"region": ["FR", "US"], "allowed": [3, 4], "deferred": [1, 0], "blocked": [2, 1]})
    fig = reporting.styled(px.bar(frame, x="region", y=["allowed", "deferred", "blocked"]))
    colours = {t.name: t.marker.color for t in fig.data}
    assert colours == {"Allowed": reporting.GREEN, "Deferred": reporting.AMBER, "Blocked": reporting.RED}
    assert fig.layout.xaxis.title.text == "Country" and "Country=%{x}" in fig.data[0].hovertemplate
    statuses = pd.DataFrame({"status": ["delivered", "sent", "failed", "unknown"], "n": [5, 2, 1, 1]})
    pie = reporting.styled(px.pie(statuses, names="status", values="n"))
    assert list(pie.data[0].marker.colors) == [reporting.GREEN, reporting.AMBER, reporting.RED, reporting.GREY]
    assert fig.layout.height and fig.layout.height >= 300


def test_public_keeps_file_names_only():
    assert reporting.public("/tmp/x/demo.duckdb: campaign c1") == "demo.duckdb: campaign c1"
    text = "see https://www.cnil.fr/fr/page and A/B, 1/2"
    assert reporting.public(text) == text


def test_long_tables_show_20_rows_and_embed_the_rest_as_csv(tmp_path):
    from urllib.parse import unquote

    import pandas as pd
    from nbclient import NotebookClient

    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_code_cell(
            "import pandas as pd\nfrom smslab import reporting\n"
            "reporting.table(pd.DataFrame({'msisdn': [f'+3361234{i:04d}' for i in range(45)], "
            "'delivery_rate': [i / 45 for i in range(45)]}), percent=['delivery_rate'], "
            "name='rows')"
        )
    ]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, str(path))
    page = reporting.export_html(path, tmp_path / "t.html").read_text(encoding="utf-8")
    assert page.count("<tr") == 21  # header + 20 rows
    assert "The first 20 of 45 rows." in page and "<th>Delivery rate</th>" in page
    link = re.search(r'<a download="rows.csv" href="data:text/csv;charset=utf-8,([^"]+)">Download all 45 rows', page)
    assert link
    lines = unquote(link[1]).splitlines()
    assert lines[0] == "Msisdn,Delivery rate" and len(lines) == 46
    assert "+33612340044" not in page and not re.search(r"\+\d{8,15}", unquote(link[1]))
    assert pd.DataFrame  # pandas imported in the kernel too


def test_charts_use_plotlys_mimetype_every_time_and_export_embeds_plotly_js_once(tmp_path):
    """No 'already embedded' state: every call displays the same bundle; the export draws them all."""
    from nbclient import NotebookClient

    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    chart = "reporting.show(px.bar(x=['delivered', 'failed'], y=[3, 1], title='Status'))"
    nb.cells = [
        new_code_cell("import plotly.express as px\nfrom smslab import reporting\n" + chart),
        new_code_cell(chart),
        new_code_cell(chart),
    ]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    bundles = [o["data"] for c in nb.cells for o in c.outputs if o.output_type == "display_data"]
    assert len(bundles) == 3 and all(reporting.PLOTLY_MIME in b and "text/html" not in b for b in bundles)
    assert bundles[0] == bundles[2]
    path = tmp_path / "charts.ipynb"
    nbformat.write(nb, str(path))
    page = reporting.export_html(path, tmp_path / "charts.html").read_text(encoding="utf-8")
    assert page.count('class="plotly-graph-div"') == 3
    assert page.count("plotly.js v") == 1 or page.count("* plotly.js") == 1
    assert page.index("Plotly.newPlot") > page.index("</head>") > page.index("plotly.js")
    assert not re.search(r"<script[^>]*\bsrc=", page)


def test_report_run_prints_no_kernel_warnings(tmp_path):
    """papermill's kernels talk over IPC: ipykernel's 'running over TCP without encryption' and
    other kernel log lines do not reach the user."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    (home / "notebooks").mkdir(parents=True)
    (home / "data").mkdir()
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [new_code_cell("n: int = 2  # how many"), new_markdown_cell("# Quiet"), new_code_cell("print(n * 21)")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(home / "notebooks" / "quiet.ipynb"))
    env = {**os.environ, "SMSLAB_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-m", "smslab", "report", "run", "quiet", "--output-dir", str(tmp_path / "out"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["html"].endswith("quiet.html")
    assert "without encryption" not in out.stderr and "IPKernelApp" not in out.stderr, out.stderr
    assert "42" in (tmp_path / "out" / "quiet.html").read_text(encoding="utf-8")


def test_every_helper_the_notebooks_call_is_exported_with_all():
    """The notebooks call `analytics.NAME`, `reporting.NAME`, `planning.NAME`, `narrative.NAME`: each
    is in the package's `__all__` (or a public function of the view module), and `__all__` names
    only what exists."""
    import inspect

    from smslab import analytics, config
    from smslab.reporting.views import narrative, planning

    sources = "\n".join(
        "".join(c.source)
        for p in sorted(config.notebooks_dir().glob("*.ipynb"))
        for c in nbformat.read(str(p), as_version=4).cells
        if c.cell_type == "code"
    )
    packages = {"analytics": analytics, "reporting": reporting}
    for prefix, package in packages.items():
        called = set(re.findall(rf"(?<![.\w]){prefix}\.([A-Za-z_]\w*)", sources))
        assert called and called <= set(package.__all__), (prefix, called - set(package.__all__))
        assert all(hasattr(package, name) for name in package.__all__)
    for module in (planning, narrative):
        called = set(re.findall(rf"(?<![.\w]){module.__name__.rsplit('.', 1)[1]}\.([A-Za-z_]\w*)", sources))
        public = {
            n
            for n, f in inspect.getmembers(module)
            if not n.startswith("_") and (not inspect.isfunction(f) or f.__module__ == module.__name__)
        }
        assert called and called <= public, called - public
