"""The analyst's path, in a real browser: JupyterLab from .venv on 127.0.0.1, headless Chromium
(Debian's, driven by Playwright; no browser download), every notebook under notebooks/ opened,
Run All Cells, saved, the page reloaded, and Run All Cells again on the same kernel.

Each time: no error output, every plotly chart drew at a readable size (an SVG with marks, not a
collapsed box), and every ipywidgets menu changes what it controls, with the charts it redraws
drawn too. Screenshots go to the test's temporary folder, which every failure message names.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright import sync_api as playwright_api  # the dev extras install it (make setup)

from smslab import config
from smslab.demo import demo

CHROMIUM = os.environ.get("SMSLAB_CHROMIUM") or (
    "/usr/bin/chromium"
    if Path("/usr/bin/chromium").exists()
    else shutil.which("chromium-browser") or "/usr/bin/chromium"
)
NOTEBOOKS = sorted(p.stem for p in config.notebooks_dir().glob("*.ipynb"))
RUN_TIMEOUT_MS = 240_000  # one Run All Cells on a 2-core machine shared with other work
STEP_TIMEOUT_MS = 60_000
# User settings for the test's JupyterLab: no news or update checks (they would try the network)
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False}
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Lab:
    """A JupyterLab server started by the test, on 127.0.0.1 with a token, in a scratch root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = root / "jupyterlab.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        settings = self.root / "lab-settings"
        for name, value in SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value), encoding="utf-8")
        args = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root / 'notebooks'}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.root / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # the pypi manager would ask the package index
            "--ServerApp.terminals_enabled=False",
            "--MappingKernelManager.default_kernel_name=smslab",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI and these machines run as root
            args.append("--allow-root")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                args, env=env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.process.returncode}); see {self.log}")
            try:
                if httpx.get(f"{self.base}/api/status", params={"token": self.token}, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within 90 s; see {self.log}")

    def api(self, method: str, path: str) -> httpx.Response:
        return httpx.request(method, f"{self.base}{path}", params={"token": self.token}, timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            for session in self.api("GET", "/api/sessions").json():
                self.api("DELETE", f"/api/sessions/{session['id']}")
        except (httpx.HTTPError, ValueError):
            pass
        os.killpg(self.process.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab over copies of the notebooks and a demo database, and a headless Chromium."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    root = tmp_path_factory.mktemp("jupyterlab")
    shutil.copytree(config.notebooks_dir(), root / "notebooks")
    result = demo(messages=120, seed=5, reports=False, db=root / "demo.duckdb", landing=root / "landing")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "SMSLAB_"))}
    env.update(
        SMSLAB_DB=str(result["db"]),
        SMSLAB_LANDING=str(root / "landing"),
        SMSLAB_REPORTS=str(root / "reports"),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        JUPYTER_DATA_DIR=str(root / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    server = Lab(root)
    (root / "shots").mkdir()
    try:
        server.start(env)
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            try:
                yield server, browser
            finally:
                browser.close()
    finally:
        server.stop()


# ---- what the page is asked --------------------------------------------------------------------

APP_READY = """() => { const p = window.smslabNotebook && window.smslabNotebook();
  return !!(p && p.context && p.context.isReady && p.sessionContext && p.sessionContext.session
            && p.sessionContext.session.kernel && p.content && p.content.widgets.length); }"""

KERNEL = """async () => { const p = window.smslabNotebook(); await p.sessionContext.ready;
  return p.sessionContext.session.kernel.id; }"""

# Done when the kernel is idle and every code cell ran after `since` (or a cell failed: Run All stops there).
RUN_DONE = """(since) => { const p = window.smslabNotebook();
  const s = p && p.sessionContext.session; const k = s && s.kernel;
  if (!k || k.status !== 'idle') return false;
  const cells = p.content.widgets.filter(c => c.model.type === 'code');
  const failed = cells.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'));
  return failed || cells.every(c => c.model.executionCount !== null && c.model.executionCount > since); }"""

LAST_COUNT = """() => Math.max(0, ...window.smslabNotebook().content.widgets
  .filter(c => c.model.type === 'code').map(c => c.model.executionCount || 0))"""

ERRORS = """() => window.smslabNotebook().content.widgets.filter(c => c.model.type === 'code')
  .flatMap((c, i) => c.model.outputs.toJSON()
     .filter(o => o.output_type === 'error' || (o.output_type === 'stream' && o.name === 'stderr'))
     .map(o => `cell ${c.model.executionCount}: ` + (o.ename ? `${o.ename}: ${o.evalue}` : o.text)))"""

# Every plotly output in the notebook (cells and widget outputs): its size and whether it has marks.
# Each is scrolled into view first, as a reader would; the notebook lays out cells lazily.
CHARTS = """async () => {
  // plotly's own renderer, and any chart an HTML output would draw instead (measured the same way)
  const outs = [...document.querySelectorAll(
    '.jp-Notebook .jp-RenderedPlotly, .jp-Notebook .jp-RenderedHTMLCommon .plotly-graph-div')];
  const seen = [];
  for (const out of outs) {
    out.scrollIntoView({block: 'center'});
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const plot = out.classList.contains('js-plotly-plot') ? out : out.querySelector('.js-plotly-plot');
    const svg = plot && plot.querySelector('svg.main-svg');
    // a reopened notebook shows the PNG plotly saved with the output until the pointer enters it
    const img = out.querySelector('img.plot-img');
    const still = !svg && img && img.complete && img.naturalHeight > 0 && getComputedStyle(img).display !== 'none';
    const box = svg ? svg.getBoundingClientRect() : still ? img.getBoundingClientRect() : out.getBoundingClientRect();
    const marks = svg ? [...plot.querySelectorAll('g.trace path, g.trace .point, g.slice path')]
        .filter(m => { const b = m.getBBox(); return b.width > 0 || b.height > 0; }).length : still ? 1 : 0;
    const title = svg && plot.querySelector('.gtitle');
    seen.push({title: title ? title.textContent : '', kind: svg ? 'svg' : still ? 'saved image' : 'nothing',
               width: Math.round(box.width), height: Math.round(box.height),
               marks, inWidget: !!out.closest('.widget-output')});
  }
  return seen; }"""

# The plotly outputs the notebook model holds (outside widgets), to compare with what drew.
MODEL_CHARTS = """() => window.smslabNotebook().content.widgets.filter(c => c.model.type === 'code')
  .reduce((n, c) => n + c.model.outputs.toJSON().filter(o => o.data && (o.data['application/vnd.plotly.v1+json']
     || String(o.data['text/html'] || '').includes('plotly-graph-div'))).length, 0)"""

MENUS = """() => [...document.querySelectorAll('.jp-Notebook .widget-vbox')]
  .filter(b => b.querySelector(':scope > .widget-dropdown select') && b.querySelector(':scope > .widget-output'))
  .map(b => [...b.querySelector('.widget-dropdown select').options].map(o => o.textContent))"""

# The i-th menu's output, once it changed from `before` and every chart in it drew.
MENU_OUTPUT = """([i, before]) => { const s = window.smslabNotebook().sessionContext.session; const k = s && s.kernel;
  const box = [...document.querySelectorAll('.jp-Notebook .widget-vbox')]
    .filter(b => b.querySelector(':scope > .widget-dropdown select') && b.querySelector(':scope > .widget-output'))[i];
  const out = box.querySelector(':scope > .widget-output');
  const text = out.innerText.trim();
  if (!k || k.status !== 'idle' || !text || text === before) return null;
  const charts = [...out.querySelectorAll('.jp-RenderedPlotly')];
  const drawn = charts.every(c => { const s = c.querySelector('svg.main-svg');
    return s && s.getBoundingClientRect().height > 100
      && c.querySelectorAll('g.trace path, g.slice path').length > 0; });
  return drawn ? {text, charts: charts.length} : null; }"""

MENU_TEXT = """(i) => { const box = [...document.querySelectorAll('.jp-Notebook .widget-vbox')]
  .filter(b => b.querySelector(':scope > .widget-dropdown select') && b.querySelector(':scope > .widget-output'))[i];
  return box.querySelector(':scope > .widget-output').innerText.trim(); }"""


class Session:
    """One notebook open in one browser page, with screenshots and a trail for failure messages."""

    def __init__(self, lab: Lab, browser, name: str) -> None:
        self.lab, self.name = lab, name
        self.shots = lab.root / "shots"
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.external: list[str] = []
        self.context.route("**/*", self._only_loopback)
        self.page = self.context.new_page()
        self.page.set_default_timeout(STEP_TIMEOUT_MS)
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.page.add_init_script(  # the notebook under test, whatever else the workspace shows
            "window.smslabNotebook = () => { const app = window.jupyterapp; if (!app) return null;"
            f" for (const w of app.shell.widgets('main')) if (w.context && w.context.path === '{name}.ipynb') return w;"
            " return null; };"
        )
        self.trail: list[str] = []

    def _only_loopback(self, route) -> None:
        url = route.request.url
        if url.startswith((self.lab.base, "data:", "blob:")):
            route.continue_()
        else:  # nothing leaves the machine; the test says so if the page tried
            self.external.append(url)
            route.abort()

    def where(self) -> str:
        return f"{self.name}: screenshots and server log in {self.lab.root} (after: {' → '.join(self.trail)})"

    def shot(self, label: str) -> Path:
        path = self.shots / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path))
        return path

    def open(self) -> str:
        # a workspace of its own, reset: nothing from another test's notebooks is restored
        self.page.goto(
            f"{self.lab.base}/lab/workspaces/{self.name}/tree/{self.name}.ipynb?reset&token={self.lab.token}"
        )
        self.page.wait_for_function(APP_READY, timeout=STEP_TIMEOUT_MS * 2, polling=250)
        self.trail.append("open")
        return str(self.page.evaluate(KERNEL))

    def run_all(self, label: str) -> None:
        since = self.page.evaluate(LAST_COUNT)
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        self.trail.append(f"{label}: Run All Cells")
        self.page.wait_for_function(RUN_DONE, arg=since, timeout=RUN_TIMEOUT_MS, polling=500)
        errors = self.page.evaluate(ERRORS)
        if errors:
            self.shot(f"{label}-error")
        assert not errors, f"error output: {errors[:3]} — {self.where()}"

    def charts(self, label: str) -> list[dict]:
        """Wait until every plotly output drew (or the wait runs out), then check each."""
        expected = self.page.evaluate(MODEL_CHARTS)
        deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
        while True:
            seen = self.page.evaluate(CHARTS)
            outside = [c for c in seen if not c["inWidget"]]
            ok = len(outside) >= expected and all(c["height"] > 100 and c["marks"] > 0 for c in seen)
            if ok or time.monotonic() > deadline:
                break
            self.page.wait_for_timeout(500)  # poll interval, not an assertion
        self.page.evaluate(
            "() => { const c = document.querySelector('.jp-Notebook .jp-RenderedPlotly');"
            " if (c) c.closest('.jp-Cell').scrollIntoView({block: 'start'}); }"
        )
        self.shot(f"{label}-first-chart")
        self.page.evaluate("() => window.smslabNotebook().content.scrollToItem(0)")
        self.shot(label)
        assert seen, f"no chart at all — {self.where()}"
        assert len(outside) == expected, f"{expected} chart outputs, {len(outside)} on the page — {self.where()}"
        small = [c for c in seen if c["height"] <= 100 or c["width"] <= 200 or c["marks"] == 0]
        assert not small, f"charts collapsed or empty: {small[:3]} — {self.where()}"
        self.trail.append(f"{label}: {len(seen)} charts drawn")
        return seen

    def menus(self, label: str, tries: int = 3) -> int:
        """Each menu: pick up to `tries` other choices; the output changes and its charts draw."""
        menus = self.page.evaluate(MENUS)
        for i, options in enumerate(menus):
            select = self.page.locator(
                ".jp-Notebook .widget-vbox:has(> .widget-dropdown select) > .widget-dropdown select"
            ).nth(i)
            for choice in options[1 : 1 + tries]:
                before = self.page.evaluate(MENU_TEXT, i)
                select.scroll_into_view_if_needed()
                select.select_option(label=choice)
                try:
                    self.page.wait_for_function(MENU_OUTPUT, arg=[i, before], timeout=STEP_TIMEOUT_MS, polling=250)
                except playwright_api.TimeoutError:
                    self.shot(f"{label}-menu{i}-{choice}")
                    raise AssertionError(
                        f"menu {i} ({options}) set to {choice!r}: its output did not change or a chart in it did "
                        f"not draw within {STEP_TIMEOUT_MS // 1000} s — {self.where()}"
                    ) from None
            self.trail.append(f"{label}: menu {i} ({len(options)} choices)")
            if len(options) > 1:
                self.shot(f"{label}-menu{i}")
        errors = self.page.evaluate(ERRORS)
        assert not errors, f"error output after using the menus: {errors[:3]} — {self.where()}"
        return len(menus)

    def save_and_reload(self) -> None:
        self.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        self.page.wait_for_function("() => !window.smslabNotebook().context.model.dirty")
        self.page.reload()
        self.page.wait_for_function(APP_READY, timeout=STEP_TIMEOUT_MS * 2, polling=250)
        self.trail.append("saved and reloaded")

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_in_jupyterlab(lab, name):
    """Run All, menus, save, reload, charts from the saved outputs, Run All again on the same kernel."""
    server, browser = lab
    session = Session(server, browser, name)
    try:
        kernel = session.open()
        session.run_all("run1")
        first = session.charts("run1")
        menus = session.menus("run1")
        session.save_and_reload()
        assert session.page.evaluate(KERNEL) == kernel, f"the reloaded page has another kernel — {session.where()}"
        session.charts("reloaded")  # the saved outputs draw again: nothing depends on what was sent before
        session.run_all("run2")
        second = session.charts("run2")
        assert len(second) == len(first), (
            f"{len(first)} charts on the first run, {len(second)} after the reload — {session.where()}"
        )
        assert session.menus("run2") == menus
        assert not session.external, f"the page tried the network: {session.external[:5]} — {session.where()}"
    except Exception:
        try:
            session.shot("failure")
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        raise
    finally:
        session.close()
        for s in server.api("GET", "/api/sessions").json():  # one kernel at a time on a 2-core machine
            server.api("DELETE", f"/api/sessions/{s['id']}")


def test_every_notebook_is_covered():
    """A notebook added under notebooks/ is opened by the test above without being named here."""
    assert NOTEBOOKS == sorted(p.stem for p in config.notebooks_dir().glob("*.ipynb")) and len(NOTEBOOKS) >= 4
