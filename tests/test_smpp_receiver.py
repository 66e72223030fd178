"""The long-running SMPP receiver (`smslab smpp-receive`): receipts the SMSC sends after the sending
command has exited reach the journal, then DuckDB; decimal receipt ids update hex-id messages."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from fakes.campaign import e164, make_spec
from fakes.smsc import TestSmsc as Smsc
from fakes.smsc import free_port
from smslab import store
from smslab.providers.smpp import SmppProvider
from smslab.receiving.journal import journal_files
from smslab.receiving.journal_load import load
from smslab.sending import send
from test_provider_smpp import AFTERNOON, FAST, provider_for


def journal_lines(landing):
    return [json.loads(line) for f in journal_files(landing) for line in f.read_text().splitlines()]


@pytest.mark.parametrize("bind", ["transceiver", "receiver"])
def test_receipts_after_the_sender_exited_reach_the_database_through_the_receiver(tmp_path, con, monkeypatch, bind):
    """Both binds: a receiver-only session must acknowledge deliver_sm as well as a transceiver
    (issue #15: `--bind receiver` got one receipt, then nothing)."""
    make_spec(tmp_path)
    numbers = [e164(n) for n in pd.read_csv(tmp_path / "audience.csv")["msisdn"]]
    stoppers = {n.lstrip("+") for n in numbers[:3]}
    landing = tmp_path / "landing"
    with Smsc(replies_from=stoppers, hold_receipts=True, hex_ids=True, lifetime=90) as smsc:
        provider = provider_for(smsc, tmp_path, monkeypatch)
        try:
            sent = send(make_spec(tmp_path), con=con, provider=provider, now=AFTERNOON, throughput=FAST)
            assert sent["submitted"] == 40
        finally:
            provider.close()  # the sending command is over: nothing was received yet
        assert journal_lines(landing) == [] and smsc.delivered == 0
        assert all(len(r[0]) == 8 for r in con.execute("SELECT provider_message_id FROM messages").fetchall())  # hex
        receiver = subprocess.Popen(
            [sys.executable, "-m", "smslab", "smpp-receive", "--bind", bind, "--landing", str(landing)],
            env={**os.environ},
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and len(journal_lines(landing)) < 43:
                time.sleep(0.2)
        finally:
            receiver.send_signal(signal.SIGTERM)
            _, err = receiver.communicate(timeout=20)
        assert receiver.returncode == 0, err
        assert f"bound as {bind} " in err and "43 receipts and replies journalled" in err
        assert smsc.bind_commands == ["bind_transceiver", f"bind_{bind}"]  # the sender, then the receiver
        assert smsc.delivered == 40 and "generic_nack" not in err
    envelopes = journal_lines(landing)
    assert sorted(e["kind"] for e in envelopes) == ["dlr"] * 40 + ["inbound"] * 3
    assert load(con=con, landing=landing) == {"loaded": 43, "duplicates": 0, "quarantined": 0}
    # receipts say the id in decimal; the submit answers gave it in hex: every message is delivered
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'delivered'") == 40
    assert store.scalar(con, "SELECT count(*) FROM inbound WHERE intent = 'opt_out'") == 3


def test_the_receiver_binds_again_with_back_off_while_the_smsc_is_away(tmp_path, monkeypatch):
    monkeypatch.setenv("SMPP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMPP_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("SMPP_SYSTEM_ID", "smslab")
    monkeypatch.setenv("SMPP_PASSWORD", "smpp-pw1")
    lines = []
    provider = SmppProvider(landing=tmp_path / "landing", timeout=1.0, bind="receiver")
    started = time.monotonic()
    assert provider.receive(seconds=2.0, backoff=(0.2, 0.8), log=lines.append) == 0
    assert 1.9 < time.monotonic() - started < 6
    waits = [line.rsplit("in ", 1)[1] for line in lines if "binding again" in line]
    assert waits[:3] == ["0.2 s", "0.4 s", "0.8 s"] and set(waits[3:]) <= {"0.8 s"}
