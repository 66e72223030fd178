"""Crash and resume: the sending *process* is SIGKILLed mid-campaign, re-run, and nobody gets a message twice."""

import os
import signal
import subprocess
import sys
from datetime import datetime

import yaml

from fakes.campaign import make_spec
from fakes.infobip import FakeInfobip
from smslab import store
from smslab.sending import send

AFTERNOON = datetime(2026, 12, 1, 14, 0)
SENDER = """
import sys
from datetime import datetime
from smslab.sending import send
send(sys.argv[1], db=sys.argv[2], provider="infobip", now=datetime(2026, 12, 1, 14, 0), batch_size=10,
     throughput=10_000.0)
"""


def test_a_killed_sender_resumes_and_every_recipient_is_submitted_exactly_once(tmp_path, monkeypatch):
    make_spec(tmp_path)  # writes audience.csv
    path = tmp_path / "spec.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "unit-send",
                "purpose": "marketing",
                "two_way": True,
                "audience": "audience.csv",
                "default_region": "FR",
                "senders": {"FR": {"type": "short_code", "id": "36180"}},
                "message": {"text": "ACME: -30% aujourd'hui. STOP au 36180"},
                "keywords": ["DEAL"],
            }
        )
    )
    db = tmp_path / "crash.duckdb"
    with FakeInfobip(api_key="k") as fake:
        fake.hold_on = 3  # the third request arrives and is taken, but its answer never comes back
        env = {**os.environ, "INFOBIP_BASE_URL": fake.url, "INFOBIP_API_KEY": "k"}
        proc = subprocess.Popen(
            [sys.executable, "-c", SENDER, str(path), str(db)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert fake.held.wait(120), proc.stderr.read().decode() if proc.poll() is not None else "no 3rd request"
            os.kill(proc.pid, signal.SIGKILL)  # dies while the provider holds its batch
        finally:
            proc.wait(30)
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        assert sum(fake.accepted.values()) == 30 and fake.sends == 3
        monkeypatch.setenv("INFOBIP_BASE_URL", fake.url)
        monkeypatch.setenv("INFOBIP_API_KEY", "k")
        fake.hold_on = None
        con = store.connect(db)
        try:
            resumed = send(str(path), con=con, provider="infobip", now=AFTERNOON, batch_size=10, throughput=10_000.0)
            ids = {r[0] for r in con.execute("SELECT message_id FROM messages").fetchall()}
            statuses = dict(con.execute("SELECT status, count(*) FROM messages GROUP BY 1").fetchall())
        finally:
            con.close()
    assert resumed["interrupted"] == 10 and resumed["submitted"] == 10
    assert len(ids) == 40 and set(fake.accepted) == ids
    assert sorted(fake.accepted.values()) == [1] * 40  # every allowed recipient: exactly once at the provider
    assert statuses == {"submitted": 30, "unknown": 10}  # the held batch: taken by Infobip, outcome unknown to us
