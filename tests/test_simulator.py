"""The simulator: deterministic, idempotent, and speaking a real provider's wire format."""
import json
from datetime import datetime

from smslab import store
from smslab.providers import OutboundMessage, get_provider
from smslab.receiving.infobip import parse_dlr, parse_inbound
from smslab.receiving.journal import journal_files
from smslab.receiving.journal_load import load


def batch(n=300, region="FR", two_way=True, opt_out_short_code=None, sender="36180"):
    return [OutboundMessage(message_id=f"m{i}", campaign_id="c", msisdn=f"+336123{i:05d}", region=region,
                            sender_type="short_code", sender_id=sender, text="hi", encoding="GSM-7", segments=1,
                            scheduled_at=datetime(2026, 12, 1, 14), two_way=two_way,
                            opt_out_short_code=opt_out_short_code) for i in range(n)]


def journal_lines(landing):
    return sorted(line for path in journal_files(landing) for line in path.read_text().splitlines())


def strip_ids(lines):
    return sorted(json.dumps({k: v for k, v in json.loads(line).items() if k != "id"}) for line in lines)


def test_same_seed_same_traffic_other_seed_other_traffic(tmp_path):
    for name, seed in [("a", 1), ("b", 1), ("c", 2)]:
        get_provider("simulator", seed=seed, landing=tmp_path / name, keywords=["DEAL"]).submit(batch())
    a, b, c = (strip_ids(journal_lines(tmp_path / n)) for n in "abc")
    assert a == b
    assert a != c


def test_every_report_parses_with_the_infobip_parser_and_shows_real_network_behaviour(tmp_path):
    get_provider("simulator", seed=5, landing=tmp_path, keywords=["DEAL"], reply_rate=0.5).submit(batch(600))
    events, replies = [], []
    for line in journal_lines(tmp_path):
        env = json.loads(line)
        parse = parse_dlr if env["kind"] == "dlr" else parse_inbound
        e, r, problems = parse(json.loads(env["body"]))
        assert problems == []
        events += e
        replies += r
    statuses = {e["status"] for e in events}
    assert {"sent", "delivered"} <= statuses and statuses & {"undelivered", "expired", "rejected"}
    ids = [(e["provider_message_id"], e["raw_status"], e["event_at"]) for e in events]
    assert len(ids) > len(set(ids))  # some reports are delivered twice
    texts = {r["text"].strip().upper() for r in replies}
    assert {"STOP", "DEAL"} <= texts or {"ARRET", "DEAL"} <= texts


def test_out_of_order_reports_exist_and_the_loader_still_ends_final(tmp_path):
    sim = get_provider("simulator", seed=9, landing=tmp_path / "l", out_of_order_rate=1.0)
    results = sim.submit(batch(100))
    con = store.connect(tmp_path / "s.duckdb")
    for r in results:
        con.execute("INSERT INTO messages (message_id, provider_message_id, status) VALUES (?, ?, 'submitted')",
                    [r.message_id, r.provider_message_id])
    load(con=con, landing=tmp_path / "l")
    statuses = dict(con.execute("SELECT status, count(*) FROM messages GROUP BY 1").fetchall())
    assert statuses.get("delivered", 0) > 70
    assert "submitted" not in statuses  # every message got at least one report


def test_resubmitting_is_idempotent(tmp_path):
    sim = get_provider("simulator", seed=4, landing=tmp_path / "l")
    first = sim.submit(batch(50))
    second = sim.submit(batch(50))
    assert [r.provider_message_id for r in first] == [r.provider_message_id for r in second]
    con = store.connect(tmp_path / "s.duckdb")
    counts = load(con=con, landing=tmp_path / "l")
    stored = store.scalar(con, "SELECT (SELECT count(*) FROM dlr_events) + (SELECT count(*) FROM inbound)")
    assert counts["loaded"] == stored
    assert counts["duplicates"] >= counts["loaded"]  # the second submission added nothing new


def test_alphanumeric_sender_gets_opt_outs_only_through_its_opt_out_short_code(tmp_path):
    sim = get_provider("simulator", seed=2, landing=tmp_path, opt_out_short_code_rate=0.5)
    sim.submit(batch(200, region="KE", two_way=False, opt_out_short_code="21456", sender="ACME"))
    replies = []
    for line in journal_lines(tmp_path):
        env = json.loads(line)
        if env["kind"] == "inbound":
            replies += parse_inbound(json.loads(env["body"]))[1]
    assert replies and {r["recipient"] for r in replies} == {"21456"}
    assert {r["text"] for r in replies} == {"STOP"}


def test_infobip_times_match_numpy_formatting_over_centuries():
    import numpy as np

    from smslab.providers.simulator import _infobip_times

    rng = np.random.default_rng(5)
    moments = (np.datetime64("1900-01-01T00:00:00", "us")
               + (rng.random(20_000) * 6e15).astype("int64").astype("timedelta64[us]"))
    moments = np.concatenate([moments, np.array(["2000-02-29T23:59:59.999999", "2024-12-31T00:00:00",
                                                 "1970-01-01T00:00:00.001", "2100-03-01T12:00:00"],
                                                dtype="datetime64[us]")])
    expected = [t + "+0000" for t in np.datetime_as_string(moments.astype("datetime64[ms]"), unit="ms")]
    assert _infobip_times(moments).to_pylist() == expected


def test_writing_behind_gives_the_same_journal_once_flushed(tmp_path):
    import pandas as pd

    frame = pd.DataFrame([{"message_id": m.message_id, "campaign_id": m.campaign_id, "msisdn": m.msisdn,
                           "region": m.region, "sender_id": m.sender_id, "segments": m.segments,
                           "scheduled_at": m.scheduled_at, "two_way": m.two_way,
                           "opt_out_short_code": m.opt_out_short_code} for m in batch(900)])
    now = get_provider("simulator", seed=3, landing=tmp_path / "now", keywords=["DEAL"])
    behind = get_provider("simulator", seed=3, landing=tmp_path / "behind", keywords=["DEAL"])
    for part in (frame.iloc[:400], frame.iloc[400:]):
        now.submit_frame(part)
        behind.submit_frame(part, wait=False)
    behind.flush()
    expected = strip_ids(journal_lines(tmp_path / "now"))
    assert len(expected) > 900 and strip_ids(journal_lines(tmp_path / "behind")) == expected
    behind.close()
