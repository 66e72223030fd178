"""The four report notebooks, executed by papermill on a demo database with their defaults and
with a second set of parameters, exported to HTML and opened in headless Chromium with the
network cut off: every chart renders, no script error, no unmasked phone number."""

from __future__ import annotations

import csv
import html as htmllib
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import nbformat
import pytest

from browser import chromium
from smslab import analytics, config, reporting, store
from smslab.conversions import import_conversions
from smslab.demo import REPORTS, demo
from smslab.receiving.file_ingest import ingest

NAMES = ["campaign_setup", "cost_estimate", "country_brief", "delivery_funnel", "optout_keywords"]
CASES = [(n, s) for n in NAMES for s in ("defaults", "second")]

# the second set of parameters (strings, as `smslab report run -p KEY VALUE` passes them)
SECOND = {
    "campaign_setup": {"spec": "data/samples/campaign.yaml", "at": "2026-12-01T03:00:00+00:00", "db": "none"},
    "cost_estimate": {"monthly_volume": "50000", "months": "12", "currency": "USD", "launch": "2027-06-01"},
    "delivery_funnel": {"campaign_id": "{cid}", "attribution_days": "0.5", "metric": "delivered"},
    "optout_keywords": {"campaign_id": "{cid}", "freq": "day", "review_limit": "3"},
    "country_brief": {"countries": "ZA, in", "purpose": "transactional", "two_way": "false", "at": "2026-01-15"},
}

# Injected first in <head>: collects script errors, failed loads and console.error, then writes
# how many plotly charts exist and how many drew their SVG.
PROBE = """<script>(function(){var errs=[];
addEventListener('error',function(e){errs.push(e.message?'error: '+e.message:'failed to load: '+
  (e.target&&e.target.outerHTML?e.target.outerHTML.slice(0,200):'?'))},true);
addEventListener('unhandledrejection',function(e){errs.push('unhandled rejection: '+e.reason)});
var ce=console.error;console.error=function(){errs.push('console.error: '+Array.prototype.join.call(arguments,' '));
  ce.apply(console,arguments)};
addEventListener('load',function(){setTimeout(function(){var d=document.querySelectorAll('.plotly-graph-div'),r=0;
  d.forEach(function(x){if(x.querySelector('svg.main-svg'))r++});var m=document.createElement('pre');
  m.id='smslab-probe';m.textContent=JSON.stringify({charts:d.length,rendered:r,errors:errs});
  document.body.appendChild(m)},500)})})();</script>"""
OFFLINE = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",  # the network is cut
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=20000",
]


def probe(html_path: Path, profile: Path) -> dict:
    """Open a copy of the page (with PROBE injected) offline; return charts, rendered, errors."""
    page = html_path.read_text(encoding="utf-8")
    assert "<head>" in page
    copy = html_path.with_suffix(".probe.html")
    copy.write_text(page.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    out = subprocess.run(
        [chromium(), *OFFLINE, f"--user-data-dir={profile}", "--dump-dom", copy.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    found = re.search(r'<pre id="smslab-probe">(.*?)</pre>', out.stdout, re.S)
    assert found, f"the probe never ran in {html_path.name}: {out.stderr[-2000:]}"
    result = json.loads(htmllib.unescape(found.group(1)))
    result["errors"] += [ln for ln in out.stderr.splitlines() if "Uncaught" in ln]
    return result


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebooks")
    result = demo(messages=120, seed=5, reports=False, db=root / "demo.duckdb", landing=root / "landing")
    con = store.connect(result["db"])
    delivered = con.execute(
        """SELECT msisdn, status_at FROM messages WHERE campaign_id = ? AND status = 'delivered'
                               ORDER BY msisdn LIMIT 6""",
        [result["campaign_id"]],
    ).fetchall()
    orders = root / "orders.csv"
    with orders.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["msisdn", "time", "value", "currency", "reference"])
        for i, (msisdn, at) in enumerate(delivered):  # the first 3 an hour after delivery, the others 2 days after
            writer.writerow([msisdn, (at + timedelta(hours=1 if i < 3 else 48)).isoformat(), 25 + i, "EUR", f"o{i}"])
        writer.writerow(["not a number", "2026-12-01T00:00:00", "1", "EUR", "bad"])
    assert import_conversions(orders, con=con)["loaded"] == len(delivered)
    # a Kenyan recipient opts out on the opt-out short code, as Infobip would post it (the loader
    # links it to the alphanumeric sender), so the linkage section has something to show
    [(kenyan, sent_at)] = con.execute(
        """SELECT msisdn, status_at FROM messages WHERE campaign_id = ? AND region = 'KE'
                                         AND status = 'delivered' ORDER BY msisdn LIMIT 1""",
        [result["campaign_id"]],
    ).fetchall()
    reply = root / "ke-reply.json"
    reply.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "messageId": "MO-test-ke-1",
                        "from": kenyan.lstrip("+"),
                        "to": "21456",
                        "text": "STOP",
                        "cleanText": "",
                        "keyword": "STOP",
                        "receivedAt": (sent_at + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                        "smsCount": 1,
                        "price": {"pricePerMessage": 0, "currency": "EUR"},
                        "callbackData": None,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    assert ingest([reply], fmt="infobip", con=con)["loaded"] == 1
    con.close()
    return root, result


@pytest.fixture(scope="module")
def runs(demo_db):
    """Every notebook run twice (defaults, then SECOND) and each HTML probed in Chromium."""
    root, result = demo_db
    saved = {k: os.environ.get(k) for k in ("SMSLAB_DB", "SMSLAB_LANDING")}
    os.environ["SMSLAB_DB"] = result["db"]  # the defaults point at the demo database
    os.environ["SMSLAB_LANDING"] = str(root / "landing")

    def run(key):
        name, which = key
        params = (
            {} if which == "defaults" else {k: v.format(cid=result["campaign_id"]) for k, v in SECOND[name].items()}
        )
        return reporting.run_report(name, parameters=params, output_dir=root / which)

    try:
        with ThreadPoolExecutor(2) as pool:  # two kernels at a time
            done = dict(zip(CASES, pool.map(run, CASES), strict=False))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    with ThreadPoolExecutor(2) as pool:
        probes = dict(
            zip(
                done,
                pool.map(lambda key: probe(Path(done[key]["html"]), root / f"chromium-{key[0]}-{key[1]}"), list(done)),
                strict=False,
            )
        )
    for key, value in done.items():
        value["probe"] = probes[key]
    return root, result, done


def test_the_demo_runs_every_notebook():
    assert sorted(REPORTS) == NAMES == sorted(p.stem for p in config.notebooks_dir().glob("*.ipynb"))


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_are_stripped_with_one_parameters_cell(name):
    nb = nbformat.read(str(config.notebooks_dir() / f"{name}.ipynb"), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    report = {r["name"]: r for r in reporting.list_reports()}[name]
    assert report["description"]
    for param, info in report["parameters"].items():  # papermill parsed every line, help included
        assert info["help"], f"{name}: parameter {param} has no help comment"


@pytest.mark.parametrize("name, which", CASES)
def test_executed_without_errors_or_live_widgets(runs, name, which):
    _, _, done = runs
    run = done[(name, which)]
    nb = nbformat.read(run["notebook"], as_version=4)
    assert nb.metadata.papermill.get("exception") in (None, False)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"{name}: {output.get('ename')}: {output.get('evalue')}"
            assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {})


@pytest.mark.parametrize("name, which", CASES)
def test_html_is_safe_to_forward(runs, name, which):
    _, result, done = runs
    page = Path(done[(name, which)]["html"]).read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", page), "every script is inline: nothing from the network"
    assert "from smslab import" not in page and "reporting.show(" not in page and "analytics." not in page
    con = store.connect(result["db"], read_only=True)
    numbers = {
        r[0]
        for r in con.execute(
            "SELECT msisdn FROM audience UNION SELECT msisdn FROM inbound UNION SELECT msisdn FROM conversions"
        ).fetchall()
    }
    con.close()
    leaked = [n for n in numbers if n in page or n.lstrip("+") in page]
    assert not leaked, f"unmasked numbers in {name}: {leaked[:3]}"
    assert not re.findall(r"(?<![\w.+])\+\d{8,15}(?!\d)", page), "an E.164 number survived"
    assert not re.findall(r"\+\d{1,3} \d{2,4} \d{2,4} \d{2,4}", page), "a spaced international number survived"


@pytest.mark.parametrize("name, which", CASES)
def test_every_chart_renders_offline_without_errors(runs, name, which):
    _, _, done = runs
    seen = done[(name, which)]["probe"]
    page = Path(done[(name, which)]["html"]).read_text(encoding="utf-8")
    assert seen["charts"] == page.count('class="plotly-graph-div') > 0
    assert seen["rendered"] == seen["charts"], f"{name}: {seen}"
    assert seen["errors"] == [], f"{name}: {seen['errors']}"


def test_plotly_js_is_embedded_once(runs):
    _, _, done = runs
    for key, run in done.items():
        page = Path(run["html"]).read_text(encoding="utf-8")
        assert page.count("plotly.js v") == 1 or page.count("* plotly.js") == 1, key


def test_the_probe_notices_a_page_that_needs_the_network(runs):
    """The offline browser is really offline: a chart that needs plotly.js from a CDN fails."""
    root, _, _ = runs
    page = root / "cdn.html"
    page.write_text(
        "<!doctype html><html><head><script src='https://cdn.plot.ly/plotly-2.35.2.min.js'></script>"
        "</head><body><div class='plotly-graph-div' id='g'></div>"
        "<script>Plotly.newPlot('g', [{y: [1, 2]}]);</script></body></html>",
        encoding="utf-8",
    )
    seen = probe(page, root / "chromium-cdn")
    assert seen["charts"] == 1 and seen["rendered"] == 0
    assert any("Plotly" in e for e in seen["errors"]) and any("cdn.plot.ly" in e for e in seen["errors"])


def test_reports_show_their_parameters_and_data(runs):
    _, result, done = runs
    funnel = Path(done[("delivery_funnel", "second")]["html"]).read_text(encoding="utf-8")
    assert result["campaign_id"] in funnel and "attribution window (days)" in funnel
    assert re.search(r"two-proportion z-test p = |Fisher(?:'|&#x27;|&#39;)s exact test p = |identical outcome", funnel)
    setup = Path(done[("campaign_setup", "second")]["html"]).read_text(encoding="utf-8")
    assert "consent_ledger_not_checked" in setup and "black-friday-2026" in setup
    default_setup = Path(done[("campaign_setup", "defaults")]["html"]).read_text(encoding="utf-8")
    assert result["campaign_id"] in default_setup  # the newest campaign of SMSLAB_DB
    optout = Path(done[("optout_keywords", "defaults")]["html"]).read_text(encoding="utf-8")
    linkage = re.search(
        r"<td>KE</td>\s*<td>alphanumeric</td>\s*<td>ACME</td>\s*<td>21456</td>\s*<td>ACME</td>\s*"
        r"<td>True</td>",
        optout,
    )
    assert linkage, "the Kenyan opt-out on 21456 is shown linked to ACME"
    cost = Path(done[("cost_estimate", "second")]["html"]).read_text(encoding="utf-8")
    assert "50000" in cost or "50,000" in cost


def test_conversions_reach_the_funnel(demo_db):
    _, result = demo_db
    con = store.connect(result["db"], read_only=True)
    week = analytics.funnel(con, result["campaign_id"]).set_index("stage")["count"]
    half_day = analytics.funnel(con, result["campaign_id"], attribution_days=0.5).set_index("stage")["count"]
    assert week["converted"] == 6 and half_day["converted"] == 3


def test_index_links_the_latest_run_of_each_report(runs):
    root, _, done = runs
    index = (root / "defaults" / "index.html").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"href='{name}.html'" in index
    listed = {r["name"]: r["latest"] for r in reporting.list_reports(root / "second")}
    assert listed["delivery_funnel"]["notebook"] == done[("delivery_funnel", "second")]["notebook"]
    assert listed["delivery_funnel"]["parameters"]["metric"] == "delivered"


SUMMARY = re.compile(r"<p class=.smslab-summary.[^>]*>(.*?)</p>", re.S)


def _tile(page: str, label: str) -> str:
    found = re.search(rf">{re.escape(label)}</div><div[^>]*>([^<]+)</div>", page)
    assert found, f"no {label!r} tile"
    return htmllib.unescape(found.group(1))


def _number(text: str) -> int:
    return int(text.split()[0].replace(",", ""))


@pytest.mark.parametrize("name, which", CASES)
def test_each_report_opens_with_a_plain_words_summary(runs, name, which):
    """The first thing after the title: one paragraph, before every table and chart."""
    _, _, done = runs
    page = Path(done[(name, which)]["html"]).read_text(encoding="utf-8")
    found = SUMMARY.search(page)
    assert found, f"{name}: no summary paragraph"
    assert len(htmllib.unescape(found.group(1))) > 60
    first_table = page.find('class="dataframe smslab-table"')
    first_chart = page.find('class="plotly-graph-div"')
    assert found.start() < min(p for p in (first_table, first_chart, len(page)) if p >= 0)


@pytest.mark.parametrize("which", ["defaults", "second"])
def test_summaries_agree_with_the_tables_below_them(runs, which):
    _, _, done = runs
    funnel = Path(done[("delivery_funnel", which)]["html"]).read_text(encoding="utf-8")
    text = htmllib.unescape(SUMMARY.search(funnel).group(1))
    m = re.search(r"Delivered ([\d,]+) of ([\d,]+) messages sent out \(([\d.]+)%", text)
    assert m, text
    row = lambda stage: int(re.search(rf"<td>{stage}</td>\s*<td>([\d,]+)</td>", funnel).group(1).replace(",", ""))  # noqa: E731
    assert (int(m[1].replace(",", "")), int(m[2].replace(",", ""))) == (row("Delivered"), row("Submitted"))
    assert _number(_tile(funnel, "Delivered")) == row("Delivered")
    m = re.search(r"([\d,]+) replied \([\d.]+% of delivered\) and ([\d,]+) opted out", text)
    assert (int(m[1]), int(m[2])) == (row("Replied"), row("Opted out"))

    optout = Path(done[("optout_keywords", "defaults")]["html"]).read_text(encoding="utf-8")
    text = htmllib.unescape(SUMMARY.search(optout).group(1))
    m = re.match(r"([\d,]+) of ([\d,]+) people who received the message opted out", text)
    assert m, text
    assert (_number(m[1]), _number(m[2])) == (_number(_tile(optout, "Opted out")), _number(_tile(optout, "Delivered")))

    setup = Path(done[("campaign_setup", which)]["html"]).read_text(encoding="utf-8")
    text = htmllib.unescape(SUMMARY.search(setup).group(1))
    m = re.match(
        r"Of ([\d,]+) recipients, ([\d,]+) can be sent to now \(\d+%\), ([\d,]+) wait .* "
        r"and ([\d,]+) are blocked",
        text,
    )
    assert m, text
    assert [_number(x) for x in m.groups()] == [
        _number(_tile(setup, k)) for k in ("Recipients", "Allowed", "Deferred", "Blocked")
    ]


@pytest.mark.parametrize("name, which", CASES)
def test_no_path_of_this_machine_in_the_html(runs, name, which):
    root, result, done = runs
    page = Path(done[(name, which)]["html"]).read_text(encoding="utf-8")
    for path in {str(root), str(config.project_dir()), str(Path.home()), str(Path(result["db"]).parent)}:
        assert path not in page, f"{name}: {path} in the HTML"
    leaked = re.findall(r"(?<![\w.:/])/(?:tmp|home|root|work|usr|var|opt|Users|mnt|srv)/[^\s\"'<]*", page)
    assert not leaked, f"{name}: {leaked[:3]}"
    # the database is named by its file name only (the reports that read no database name none)
    assert Path(result["db"]).name in page or name in ("cost_estimate", "campaign_setup", "country_brief")
    assert "Thin over" not in page and "smslab.analytics" not in page


def _traces(page: str):
    """The trace lists of every Plotly.newPlot call in a page."""
    decoder = json.JSONDecoder()
    for call in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', page):
        yield decoder.raw_decode(page, call.end())[0]


def test_reports_use_one_colour_per_meaning(runs):
    """Allowed/delivered green, deferred/on the way amber, blocked/failed red, unknown grey: in
    every chart of every report, bars and lines by trace name, pie slices by label."""
    _, _, done = runs
    checked = 0
    for run in done.values():
        for traces in _traces(Path(run["html"]).read_text(encoding="utf-8")):
            for trace in traces:
                if trace.get("type") == "pie":
                    for label, colour in zip(trace["labels"], trace["marker"]["colors"], strict=True):
                        if label in reporting.COLOURS:
                            assert colour == reporting.COLOURS[label], (label, colour)
                            checked += 1
                        else:
                            assert colour in reporting.NEUTRAL, (label, colour)
                elif str(trace.get("name", "")).lower() in reporting.COLOURS:
                    assert trace["marker"]["color"] == reporting.COLOURS[trace["name"].lower()], trace["name"]
                    checked += 1
                elif trace.get("type") in ("bar", "scatter", "funnel"):  # no status: no status colour
                    assert trace["marker"]["color"] in reporting.NEUTRAL, (trace.get("name"), trace["marker"])
    assert checked >= 10
