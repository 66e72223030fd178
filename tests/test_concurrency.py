"""The database under concurrent use: an idle Jupyter kernel never blocks a writer, and a writer
waits for another process's lock (--wait), then fails in one line naming that process (exit 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from smslab import config, store
from smslab.demo import demo

SMSLAB = [sys.executable, "-m", "smslab"]


def _journal(landing: Path, n: int) -> None:
    """One Infobip delivery report in the webhook journal, as `smslab serve` writes it."""
    folder = landing / "infobip" / "2026-12-01"
    folder.mkdir(parents=True, exist_ok=True)
    body = {
        "results": [
            {
                "messageId": f"conc-{n}",
                "to": "33612345678",
                "sentAt": "2026-12-01T10:00:00.000+0000",
                "doneAt": "2026-12-01T10:00:05.000+0000",
                "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET"},
                "error": {"groupId": 0, "groupName": "Ok", "id": 0, "name": "NO_ERROR", "permanent": False},
            }
        ]
    }
    line = {
        "id": f"conc-{n}",
        "provider": "infobip",
        "kind": "dlr",
        "received_at": "2026-12-01T10:00:06",
        "content_type": "application/json",
        "body": json.dumps(body),
    }
    (folder / f"dlr-conc-{n}.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*SMSLAB, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def demo_db(tmp_path):
    result = demo(messages=40, seed=3, reports=False, db=tmp_path / "smslab.duckdb", landing=tmp_path / "landing")
    return Path(result["db"])


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen:
    """Another process that opens the database for writing and keeps it `seconds`."""
    code = textwrap.dedent(f"""
        import sys, time
        from smslab import store
        con = store.connect({str(db)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_load_waits_for_a_writer_then_succeeds(demo_db, tmp_path):
    _journal(tmp_path / "landing", 1)
    holder = _hold_lock(demo_db, 3)
    with holder:  # at the end: waits for it and closes its pipe
        started = time.monotonic()
        done = _run("load", "--db", str(demo_db), "--landing", str(tmp_path / "landing"), "--json")
        waited = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["loaded"] == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # said once, not once per retry
    assert f"process {holder.pid}" in lines[0] and "waiting up to 60 s" in lines[0]
    assert waited >= 1.5


def test_load_with_a_short_wait_fails_in_one_line_naming_the_process(demo_db, tmp_path):
    _journal(tmp_path / "landing", 2)
    holder = _hold_lock(demo_db, 6)
    with holder:
        done = _run("load", "--db", str(demo_db), "--landing", str(tmp_path / "landing"), "--wait", "1", "--json")
    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    waiting, failed = done.stderr.strip().splitlines()  # the wait announced, then one line of failure
    assert f"process {holder.pid}" in failed and "--wait" in failed and "Traceback" not in done.stderr
    assert failed.startswith(f"smslab: {demo_db} is locked by process {holder.pid} (")
    # nothing was loaded: the journal is still there for the next run
    again = _run("load", "--db", str(demo_db), "--landing", str(tmp_path / "landing"), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["loaded"] == 1


def test_an_idle_kernel_that_ran_a_report_never_blocks_load_or_report_run(demo_db, tmp_path):
    from jupyter_client.manager import start_new_kernel

    _journal(tmp_path / "landing", 3)
    notebook = nbformat.read(config.notebooks_dir() / "delivery_funnel.ipynb", as_version=4)
    cells = [c.source for c in notebook.cells if c.cell_type == "code"]
    cells.insert(1, f"db = {str(demo_db)!r}")  # after the parameters cell, as papermill does
    env = {**os.environ, "SMSLAB_DB": str(demo_db)}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        for source in cells:
            reply = kc.execute_interactive(source, timeout=180, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", (source, reply["content"])
        # the kernel is alive and idle, its `con` and `kpi` in memory
        loaded = _run("load", "--db", str(demo_db), "--landing", str(tmp_path / "landing"), "--wait", "5", "--json")
        assert loaded.returncode == 0, loaded.stderr
        assert json.loads(loaded.stdout)["loaded"] == 1 and loaded.stderr == ""
        ran = _run(
            "report",
            "run",
            "delivery_funnel",
            "-p",
            "db",
            str(demo_db),
            "--output-dir",
            str(tmp_path / "reports"),
            "--wait",
            "5",
            "--json",
        )
        assert ran.returncode == 0, ran.stderr
        assert Path(json.loads(ran.stdout)["html"]).is_file()
        # the kernel still answers from its snapshot
        reply = kc.execute_interactive(
            "assert kpi and con.execute('SELECT count(*) FROM messages').fetchone()[0] > 0",
            timeout=60,
            output_hook=lambda msg: None,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        # the control: a kernel that keeps a connection open does block, and is named (the old behaviour)
        reply = kc.execute_interactive(
            "from smslab import store; held = store.connect(db, read_only=True)",
            timeout=60,
            output_hook=lambda msg: None,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        blocked = _run("load", "--db", str(demo_db), "--landing", str(tmp_path / "landing"), "--wait", "1")
        assert blocked.returncode == 4
        pid = km.provisioner.process.pid
        assert f"is locked by process {pid} (" in blocked.stderr.strip().splitlines()[-1]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_snapshot_holds_no_lock(tmp_path):
    db = tmp_path / "s.duckdb"
    store.connect(db).close()
    snap = store.snapshot(db)
    writer = store.connect(db, wait=0)
    writer.execute("INSERT INTO conversions VALUES ('+33612345678', '2026-12-01', 1, 'EUR', 'r')")
    assert store.scalar(snap, "SELECT count(*) FROM conversions") == 0  # a copy, taken before
    writer.close()
    assert store.scalar(store.snapshot(db), "SELECT count(*) FROM conversions") == 1
