"""Run a report: execute notebooks/NAME.ipynb with papermill (parameters checked and typed), then
export its HTML and record the run.

Example::

    run_report("delivery_funnel", parameters={"campaign_id": "demo-400-7"})
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from smslab import config
from smslab.errors import InputError, SmslabError
from smslab.reporting.export import export_html
from smslab.reporting.index import history_path, list_reports, write_index
from smslab.reporting.nbimport import import_nbformat
from smslab.reporting.views.interactive import REPORT_ENV


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


_mode_lock = threading.Lock()
_mode_users: list[Any] = [0, None]  # runs in progress, the value before the first


@contextlib.contextmanager
def _report_mode() -> Iterator[None]:
    """Tell the kernel (which inherits the environment) to render static output; safe when
    several reports run at once in threads."""
    with _mode_lock:
        if _mode_users[0] == 0:
            _mode_users[1] = os.environ.get(REPORT_ENV)
        _mode_users[0] += 1
        os.environ[REPORT_ENV] = "1"
    try:
        yield
    finally:
        with _mode_lock:
            _mode_users[0] -= 1
            if _mode_users[0] == 0:
                if _mode_users[1] is None:
                    os.environ.pop(REPORT_ENV, None)
                else:
                    os.environ[REPORT_ENV] = _mode_users[1]


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
        made = [
            v for v in context.values() if isinstance(v, asyncio.AbstractEventLoop) and not any(v is b for b in before)
        ]
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


def run_report(
    name: str, *, parameters: dict[str, Any] | None = None, output_dir: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Execute notebooks/NAME.ipynb with papermill into reports/runs/ and export reports/NAME.html.

    A failing cell raises `SmslabError` naming the cell, its first line and the error; the
    executed notebook stays in reports/runs/ for a closer look.

    Example::

        run_report("delivery_funnel", parameters={"campaign_id": "demo-400-7"})
        {'html': 'reports/delivery_funnel.html', 'notebook': 'reports/runs/delivery_funnel-….ipynb', 'seconds': 6.1, …}
    """
    import_nbformat()
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
        raise InputError(
            f"{source.name}: unknown parameter(s) {', '.join(unknown)}; "
            f"this report takes: {', '.join(declared) or 'none'}"
        )
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
            _closing_its_event_loop(
                lambda: papermill.execute_notebook(
                    str(source),
                    str(executed),
                    parameters=parameters,
                    kernel_name=_kernel_name(),
                    progress_bar=False,
                    cwd=str(config.project_dir()),
                    kernel_manager_class=_kernel_manager_class(),
                    # the kernel's own log (e.g. "KeyboardInterrupt caught in kernel" when jupyter_client
                    # interrupts it before shutting it down) is not for the user; a failing cell comes back
                    # through papermill, named below
                    extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                )
            )
    except PapermillExecutionError as exc:
        raise SmslabError(
            f"{source.name}: {_failed_cell(exc, executed)} failed: {exc.ename}: {exc.evalue} "
            f"(executed notebook: {executed})"
        ) from None
    html_path = export_html(executed, out_dir / f"{name}.html", title=name.replace("_", " "))
    result = {
        "html": str(html_path),
        "notebook": str(executed),
        "seconds": round(time.perf_counter() - started, 2),
        "parameters": json.loads(json.dumps(parameters, default=str)),
    }
    with history_path(out_dir).open("a", encoding="utf-8") as log:
        log.write(
            json.dumps({"name": name, **result, "finished_at": f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"})
            + "\n"
        )
    write_index(out_dir)
    return result
