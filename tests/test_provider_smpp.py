"""SMPP over TCP on 127.0.0.1 against smpp34's server: submit, UDH, UCS-2, throttling, receipts and MO."""

import json
import time
from datetime import datetime

import pandas as pd
import pytest
import smpp34

from fakes.campaign import e164, make_spec
from fakes.smsc import TestSmsc as Smsc
from smslab import store
from smslab.providers import OutboundMessage
from smslab.providers.smpp import SmppProvider
from smslab.receiving.journal import journal_files
from smslab.receiving.journal_load import load
from smslab.sending import send

AFTERNOON = datetime(2026, 12, 1, 14, 0)  # 15:00 in Paris
FAST = 10_000.0


def provider_for(smsc, tmp_path, monkeypatch):
    monkeypatch.setenv("SMPP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMPP_PORT", str(smsc.port))
    monkeypatch.setenv("SMPP_SYSTEM_ID", "smslab")
    monkeypatch.setenv("SMPP_PASSWORD", "smpp-pw1")
    return SmppProvider(landing=tmp_path / "landing", timeout=5.0)


def reassemble(submits):
    """Texts as the handset would show them: UDH parts joined by reference, decoded by data_coding."""
    texts, groups = [], {}
    for s in submits:
        raw = s["short_message"]
        if s["esm_class"] & 0x40:
            ref, total, seq = raw[3], raw[4], raw[5]
            groups.setdefault((s["destination_addr"], ref), {})[seq] = (raw[6:], total, s["data_coding"])
        else:
            texts.append(raw.decode("utf-16-be") if s["data_coding"] == 8 else raw.decode("latin-1"))
    for parts in groups.values():
        total = next(iter(parts.values()))[1]
        assert sorted(parts) == list(range(1, total + 1))
        body = b"".join(parts[i][0] for i in sorted(parts))
        texts.append(body.decode("utf-16-be") if next(iter(parts.values()))[2] == 8 else body.decode("latin-1"))
    return texts


def test_a_campaign_over_smpp_with_receipts_and_replies_reaching_the_database(tmp_path, con, monkeypatch):
    make_spec(tmp_path)
    numbers = [e164(n) for n in pd.read_csv(tmp_path / "audience.csv")["msisdn"]]
    stoppers = {n.lstrip("+") for n in numbers[:3]}
    with Smsc(replies_from=stoppers) as smsc:
        provider = provider_for(smsc, tmp_path, monkeypatch)
        try:
            result = send(make_spec(tmp_path), con=con, provider=provider, now=AFTERNOON, throughput=FAST)
            assert result["submitted"] == 40
            assert provider.ping()  # enquire_link answered by the SMSC
            provider.listen(20, until=lambda: provider.received >= 43)
        finally:
            provider.close()
        waited = time.monotonic() + 5
        while smsc.unbinds < 1 and time.monotonic() < waited:  # the SMSC sees the unbind asynchronously
            time.sleep(0.02)
        # one session for the whole campaign, ended once (unbind or hang-up)
        assert (smsc.binds, smsc.unbinds) == (1, 1)
    assert sorted(smsc.accepted.values()) == [1] * 40
    first = smsc.submits[0]
    assert first["registered_delivery"] == 1 and first["data_coding"] == 0 and first["dest_addr_ton"] == 1
    assert not first["destination_addr"].startswith("+") and first["source_addr"] == "36180"
    assert set(reassemble(smsc.submits)) == {"ACME: -30% aujourd'hui. STOP au 36180"}
    # every deliver_sm was journalled (fsynced before its deliver_sm_resp) in the receiving side's SMPP shape,
    # and `smslab load` takes it from there like any webhook
    envelopes = [json.loads(line) for f in journal_files(tmp_path / "landing") for line in f.read_text().splitlines()]
    assert sorted(e["kind"] for e in envelopes) == ["dlr"] * 40 + ["inbound"] * 3
    assert {e["provider"] for e in envelopes} == {"smpp"}
    counts = load(con=con, landing=tmp_path / "landing")
    assert counts["quarantined"] == 0 and counts["loaded"] == 43
    assert store.scalar(con, "SELECT count(*) FROM dlr_events WHERE provider = 'smpp'") == 40
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'delivered'") == 40
    replies = con.execute("SELECT msisdn, recipient, intent FROM inbound WHERE provider = 'smpp'").fetchall()
    assert sorted(r[0] for r in replies) == sorted("+" + s for s in stoppers)
    assert {(r[1], r[2]) for r in replies} == {("36180", "opt_out")}


def test_long_ucs2_and_long_gsm_messages_are_split_with_udh(tmp_path, monkeypatch):
    texts = {
        "UCS-2": "Soldes d'hiver 😀: -30% sur tout, livraison offerte ! "
        "Répondez STOP pour ne plus rien recevoir. Ελλάδα",
        "GSM-7": "ACME winter sale: 30% off everything today only, free delivery on all orders over 20 EUR. "
        "Reply STOP to opt out. Terms and conditions apply, see acme.example for details. {ok} [x] ~",
    }
    batch = [
        OutboundMessage(
            message_id=f"m{i}",
            campaign_id="c",
            msisdn=f"+3361230000{i}",
            region="FR",
            sender_type="alphanumeric",
            sender_id="ACME",
            text=t,
            encoding=e,
            segments=2,
        )
        for i, (e, t) in enumerate(texts.items())
    ]
    with Smsc() as smsc:
        provider = provider_for(smsc, tmp_path, monkeypatch)
        try:
            results = provider.submit(batch)
        finally:
            provider.close()
    assert [r.accepted for r in results] == [True, True] and [r.parts for r in results] == [2, 2]
    assert {s["data_coding"] for s in smsc.submits if s["destination_addr"].endswith("0")} == {8}
    assert all(s["esm_class"] == 0x40 and s["source_addr_ton"] == 5 for s in smsc.submits)
    ucs2 = sorted((s for s in smsc.submits if s["data_coding"] == 8), key=lambda s: s["short_message"][5])
    assert "".join(s["short_message"][6:].decode("utf-16-be") for s in ucs2) == texts["UCS-2"]
    # GSM-7, written out by hand from GSM 03.38 (not with the provider's own splitter): letters, digits
    # and this punctuation keep their ASCII codes; { } [ ] ~ are escapes 0x1B + code
    escapes = {"{": b"\x1b\x28", "}": b"\x1b\x29", "[": b"\x1b\x3c", "]": b"\x1b\x3e", "~": b"\x1b\x3d"}
    expected = b"".join(escapes.get(c, c.encode("ascii")) for c in texts["GSM-7"])
    # the SMSC may record the two submit_sm in either order: put them in the order their UDH gives
    parts = sorted((s["short_message"] for s in smsc.submits if s["data_coding"] == 0), key=lambda p: p[5])
    assert [p[:6] for p in parts] == [bytes([5, 0, 3, parts[0][3], 2, 1]), bytes([5, 0, 3, parts[0][3], 2, 2])]
    assert b"".join(p[6:] for p in parts) == expected
    assert all(len(p) - 6 <= 153 and not p.endswith(b"\x1b") for p in parts)  # 153 septets, no escape cut in two


def test_throttled_submissions_are_retried_and_accepted_once(tmp_path, con, monkeypatch):
    with Smsc() as smsc:
        smsc.script = [smpp34.ESME_RTHROTTLED] * 3
        provider = provider_for(smsc, tmp_path, monkeypatch)
        try:
            result = send(make_spec(tmp_path), con=con, provider=provider, now=AFTERNOON, throughput=FAST)
        finally:
            provider.close()
    assert result["submitted"] == 40 and result["retries"] >= 1
    assert sorted(smsc.accepted.values()) == [1] * 40
    assert len(smsc.submits) == 43


def test_a_permanent_refusal_is_recorded_and_not_retried(tmp_path, con, monkeypatch):
    with Smsc() as smsc:
        smsc.script = [smpp34.ESME_RINVDSTADR]
        provider = provider_for(smsc, tmp_path, monkeypatch)
        try:
            result = send(make_spec(tmp_path), con=con, provider=provider, now=AFTERNOON, throughput=FAST)
        finally:
            provider.close()
    assert result["submitted"] == 39 and result["failed"] == 1 and len(smsc.submits) == 40
    assert store.scalar(con, "SELECT error_code FROM messages WHERE status = 'rejected'").startswith("0x0000000B")


def test_no_smsc_means_nothing_is_marked_sent(tmp_path, con, monkeypatch):
    from fakes.smsc import free_port

    monkeypatch.setenv("SMPP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMPP_PORT", str(free_port()))
    monkeypatch.setenv("SMPP_SYSTEM_ID", "smslab")
    monkeypatch.setenv("SMPP_PASSWORD", "pw")
    result = send(make_spec(tmp_path), con=con, provider="smpp", now=AFTERNOON, throughput=FAST, max_retries=0)
    assert result["submitted"] == 0 and result["retry_later"] == 40
    assert (
        store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'queued' AND submit_attempted_at IS NULL") == 40
    )


def test_missing_settings_are_named(monkeypatch):
    from smslab.errors import ProviderError

    for name in ("SMPP_HOST", "SMPP_PORT", "SMPP_SYSTEM_ID", "SMPP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ProviderError, match="SMPP_HOST is not set"):
        SmppProvider()


def test_a_password_longer_than_smpp_allows_is_refused_before_it_is_cut(monkeypatch):
    from smslab.errors import ProviderError

    smpp_env(monkeypatch, 2775, password="secret-smpp-password")  # smpplib would send "secret-s"
    with pytest.raises(ProviderError, match=r"^SMPP_PASSWORD has 20 characters; SMPP 3\.4 allows at most 8$"):
        SmppProvider()


# --- binds that fail -------------------------------------------------------------------------
# smpp34's server accepts every bind, so these run against fakes.smsc.RefusingSmsc: a small
# loopback peer that answers bind_transceiver with the refusal each test asks for.


def smpp_env(monkeypatch, port, password="wrong-pw"):
    monkeypatch.setenv("SMPP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMPP_PORT", str(port))
    monkeypatch.setenv("SMPP_SYSTEM_ID", "smslab")
    monkeypatch.setenv("SMPP_PASSWORD", password)


@pytest.mark.parametrize(
    "answer, status, name",
    [
        ("bind_transceiver_resp", 0x0D, "ESME_RBINDFAIL (0x0000000D"),
        ("bind_transceiver_resp", 0x0E, "ESME_RINVPASWD (0x0000000E"),
        ("generic_nack", 0x0D, "ESME_RBINDFAIL (0x0000000D"),
    ],
)
def test_a_refused_bind_stops_the_run_naming_the_smsc_and_the_status(tmp_path, con, monkeypatch, answer, status, name):
    from fakes.smsc import RefusingSmsc
    from smslab.errors import AuthenticationError

    with RefusingSmsc(answer=answer, status=status) as smsc:
        smpp_env(monkeypatch, smsc.port)
        with pytest.raises(AuthenticationError) as caught:
            send(make_spec(tmp_path), con=con, provider="smpp", now=AFTERNOON, throughput=FAST)
    message = str(caught.value)
    assert f"127.0.0.1:{smsc.port}" in message and name in message and "SMPP_PASSWORD" in message
    assert "wrong-pw" not in message and "\n" not in message
    assert smsc.binds == [{"command": "bind_transceiver", "system_id": "smslab", "password": "wrong-pw"}]
    assert smsc.others == []  # no submit_sm after the refusal
    rows = con.execute(
        "SELECT status, submit_attempted_at IS NULL, submitted_at IS NULL, count(*) FROM messages GROUP BY ALL"
    ).fetchall()
    assert rows == [("queued", True, True, 40)]  # nothing marked submitted, nothing marked attempted


def test_a_bind_refused_for_another_reason_is_temporary_and_leaves_the_messages_queued(tmp_path, con, monkeypatch):
    from fakes.smsc import RefusingSmsc

    with RefusingSmsc(status=0x08) as smsc:  # ESME_RSYSERR: the SMSC's own trouble
        smpp_env(monkeypatch, smsc.port)
        result = send(make_spec(tmp_path), con=con, provider="smpp", now=AFTERNOON, throughput=FAST, max_retries=1)
    assert result["submitted"] == 0 and result["retry_later"] == 40 and result["retries"] == 1
    assert len(smsc.binds) == 2 and smsc.others == []  # tried, retried once, never submitted
    errors = con.execute("SELECT DISTINCT status, error_code FROM messages").fetchall()
    assert errors == [
        ("queued", f"SMPP bind_transceiver to 127.0.0.1:{smsc.port} refused: ESME_RSYSERR (0x00000008, System Error)")
    ]


def test_an_smsc_that_hangs_up_on_the_bind_is_a_clear_temporary_error(tmp_path, monkeypatch):
    from fakes.smsc import RefusingSmsc
    from smslab.errors import TransientError

    batch = [
        OutboundMessage(
            message_id="m1",
            campaign_id="c",
            msisdn="+33612300001",
            region="FR",
            sender_type="short_code",
            sender_id="36180",
            text="hi",
            encoding="GSM-7",
            segments=1,
        )
    ]
    with RefusingSmsc(answer="close") as smsc:
        smpp_env(monkeypatch, smsc.port)
        provider = SmppProvider(landing=tmp_path / "landing", timeout=5.0)
        try:
            with pytest.raises(
                TransientError,
                match=rf"^SMPP bind_transceiver to 127\.0\.0\.1:{smsc.port}: "
                r"no bind response \(",
            ) as caught:
                provider.submit(batch)
        finally:
            provider.close()
    assert caught.value.not_sent and len(smsc.binds) == 1


def test_a_refused_connection_is_a_clear_temporary_error(tmp_path, con, monkeypatch):
    from fakes.smsc import free_port
    from smslab.errors import TransientError

    port = free_port()  # nothing listens there
    smpp_env(monkeypatch, port)
    batch = [
        OutboundMessage(
            message_id="m1",
            campaign_id="c",
            msisdn="+33612300001",
            region="FR",
            sender_type="short_code",
            sender_id="36180",
            text="hi",
            encoding="GSM-7",
            segments=1,
        )
    ]
    provider = SmppProvider(landing=tmp_path / "landing", timeout=5.0)
    with pytest.raises(TransientError, match=rf"^SMPP: cannot connect to 127\.0\.0\.1:{port}: Connection refused$"):
        provider.submit(batch)
    provider.close()
    result = send(make_spec(tmp_path), con=con, provider="smpp", now=AFTERNOON, throughput=FAST, max_retries=0)
    assert result["submitted"] == 0 and result["retry_later"] == 40
    assert con.execute("SELECT DISTINCT error_code FROM messages").fetchall() == [
        (f"SMPP: cannot connect to 127.0.0.1:{port}: Connection refused",)
    ]


def test_the_cli_reports_a_refused_bind_in_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fakes.campaign import NOW, write_spec
    from fakes.smsc import RefusingSmsc
    from smslab.cli import cli

    spec = write_spec(tmp_path)
    db = tmp_path / "cli.duckdb"
    with RefusingSmsc() as smsc:
        smpp_env(monkeypatch, smsc.port)
        result = CliRunner().invoke(
            cli, ["send", str(spec), "--now", NOW, "--provider", "smpp", "--db", str(db), "--json"]
        )
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"smslab: SMPP bind_transceiver to 127.0.0.1:{smsc.port} refused: ESME_RBINDFAIL (0x0000000D, Bind Failed); "
        "check SMPP_SYSTEM_ID and SMPP_PASSWORD"
    ]
    assert len(smsc.binds) == 1 and smsc.others == []
    with store.connect(db) as check_con:
        assert check_con.execute("SELECT status, count(*) FROM messages GROUP BY ALL").fetchall() == [("queued", 40)]


def test_the_cli_with_no_smsc_listening_leaves_everything_queued_and_says_so(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fakes.campaign import NOW, write_spec
    from fakes.smsc import free_port
    from smslab.cli import cli

    spec = write_spec(tmp_path)
    db = tmp_path / "cli.duckdb"
    port = free_port()  # nothing listens there
    smpp_env(monkeypatch, port)
    result = CliRunner().invoke(
        cli, ["send", str(spec), "--now", NOW, "--provider", "smpp", "--max-retries", "0", "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["submitted"] == 0 and doc["retry_later"] == 40 and doc["retries"] == 0
    assert result.stderr.splitlines() == [
        "smslab: 40 message(s) were refused for now and stay queued (the reason is "
        "in messages.error_code); run `smslab send` again later"
    ]
    with store.connect(db) as con:
        assert con.execute("SELECT status, error_code, count(*) FROM messages GROUP BY ALL").fetchall() == [
            ("queued", f"SMPP: cannot connect to 127.0.0.1:{port}: Connection refused", 40)
        ]
