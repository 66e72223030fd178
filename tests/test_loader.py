"""The loader: idempotent, order-proof, and every bad record quarantined with its place."""

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smslab import store
from smslab.errors import InputError
from smslab.receiving.file_ingest import ingest
from smslab.receiving.journal import Journal, journal_files
from smslab.receiving.journal_load import load


def dlr(pmid, group_id, status_id, name, done, error_id=0, permanent=False):
    return {
        "results": [
            {
                "bulkId": "b",
                "messageId": pmid,
                "to": "33612345678",
                "sentAt": "2026-12-01T14:00:00.000+0000",
                "doneAt": done,
                "smsCount": 1,
                "status": {"groupId": group_id, "groupName": "X", "id": status_id, "name": name},
                "error": {"groupId": 0, "groupName": "Ok", "id": error_id, "name": "E", "permanent": permanent},
            }
        ]
    }


DELIVERED = (3, 5, "DELIVERED_TO_HANDSET")
ENROUTE = (1, 7, "PENDING_ENROUTE")
TO_OPERATOR = (3, 2, "DELIVERED_TO_OPERATOR")


def add_message(con, pmid, msisdn="+33612345678", status="submitted"):
    con.execute(
        """INSERT INTO messages (message_id, campaign_id, msisdn, region, provider, provider_message_id, status)
                   VALUES (?, 'c1', ?, 'FR', 'simulator', ?, ?)""",
        [f"id-{pmid}", msisdn, pmid, status],
    )


def journal_dlrs(landing, bodies):
    Journal(landing).append_many(
        {"provider": "infobip", "kind": "dlr", "body": json.dumps(b), "received_at": datetime(2026, 12, 1, 15)}
        for b in bodies
    )


def status_of(con, pmid):
    return store.scalar(con, "SELECT status FROM messages WHERE provider_message_id = ?", [pmid])


def test_loading_the_same_journal_twice_adds_nothing(con, tmp_path):
    add_message(con, "m1")
    journal_dlrs(
        tmp_path / "l",
        [dlr("m1", *ENROUTE, "2026-12-01T14:00:01.000+0000"), dlr("m1", *DELIVERED, "2026-12-01T14:00:05.000+0000")],
    )
    assert load(con=con, landing=tmp_path / "l") == {"loaded": 2, "duplicates": 0, "quarantined": 0}
    assert load(con=con, landing=tmp_path / "l") == {"loaded": 0, "duplicates": 0, "quarantined": 0}
    assert store.scalar(con, "SELECT count(*) FROM dlr_events") == 2
    assert status_of(con, "m1") == "delivered"


def test_duplicate_reports_are_counted_once(con, tmp_path):
    add_message(con, "m1")
    body = dlr("m1", *DELIVERED, "2026-12-01T14:00:05.000+0000")
    journal_dlrs(tmp_path / "l", [body, body, body])
    assert load(con=con, landing=tmp_path / "l") == {"loaded": 1, "duplicates": 2, "quarantined": 0}


def test_final_status_never_regresses_when_reports_arrive_out_of_order(con, tmp_path):
    add_message(con, "m1")
    add_message(con, "m2")
    # the final report first; the intermediate one (earlier event time) afterwards, in a later load
    journal_dlrs(tmp_path / "l", [dlr("m1", *DELIVERED, "2026-12-01T14:00:05.000+0000")])
    load(con=con, landing=tmp_path / "l")
    journal_dlrs(
        tmp_path / "l",
        [
            dlr("m1", *TO_OPERATOR, "2026-12-01T14:00:01.000+0000"),
            # even an intermediate report stamped *later* must not undo a final one
            dlr("m1", *ENROUTE, "2026-12-01T14:09:00.000+0000"),
            dlr("m2", *TO_OPERATOR, "2026-12-01T14:00:01.000+0000"),
        ],
    )
    load(con=con, landing=tmp_path / "l")
    assert status_of(con, "m1") == "delivered"
    assert status_of(con, "m2") == "sent"  # DELIVERED_TO_OPERATOR is intermediate, not delivered


def test_report_before_its_message_is_matched_when_the_message_appears(con, tmp_path):
    from smslab.receiving.status_rollup import refresh_statuses

    journal_dlrs(tmp_path / "l", [dlr("early", *DELIVERED, "2026-12-01T14:00:05.000+0000")])
    assert load(con=con, landing=tmp_path / "l")["loaded"] == 1
    add_message(con, "early")
    refresh_statuses(con)
    assert status_of(con, "early") == "delivered"


def test_bad_records_are_quarantined_with_place_and_reason_and_the_rest_loads(con, tmp_path):
    add_message(con, "ok1")
    landing = tmp_path / "l"
    journal_dlrs(
        landing,
        [
            dlr("ok1", *DELIVERED, "2026-12-01T14:00:05.000+0000"),
            dlr("bad-status", 9, 99, "MYSTERY", "2026-12-01T14:00:05.000+0000"),
            dlr("bad-time", *DELIVERED, "yesterday-ish"),
        ],
    )
    path = journal_files(landing)[0]
    with open(path, "ab") as handle:
        handle.write(b"{this is not json\n")
        handle.write(b'{"provider": "infobip", "kind": "dlr", "received_at": "2026-12-01T15:00:00", "body": "[1,2"}\n')
        handle.write("\xff\xfe broken bytes\n".encode("latin-1"))
    counts = load(con=con, landing=landing)
    assert counts == {"loaded": 1, "duplicates": 0, "quarantined": 5}
    reasons = dict(con.execute("SELECT location, reason FROM quarantine ORDER BY location").fetchall())
    assert any("unknown status" in r for r in reasons.values())
    assert any("doneAt" in r for r in reasons.values())
    assert any("bad journal line" in r for r in reasons.values())
    assert any("unparseable body" in r for r in reasons.values())
    assert any("not UTF-8" in r for r in reasons.values())
    assert "line 4" in reasons and "line 6" in reasons
    assert status_of(con, "ok1") == "delivered"


def test_a_line_still_being_written_waits_for_the_next_load(con, tmp_path):
    landing = tmp_path / "l"
    add_message(con, "m1")
    journal_dlrs(landing, [dlr("m1", *ENROUTE, "2026-12-01T14:00:01.000+0000")])
    path = journal_files(landing)[0]
    line = json.dumps(
        {
            "provider": "infobip",
            "kind": "dlr",
            "received_at": "2026-12-01T15:00:00",
            "body": json.dumps(dlr("m1", *DELIVERED, "2026-12-01T14:00:05.000+0000")),
        }
    )
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line[:40])  # a writer is half-way through this line
    assert load(con=con, landing=landing)["loaded"] == 1
    assert status_of(con, "m1") == "sent"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line[40:] + "\n")
    assert load(con=con, landing=landing) == {"loaded": 1, "duplicates": 0, "quarantined": 0}
    assert status_of(con, "m1") == "delivered"


def test_a_crash_mid_load_rolls_back_and_the_rerun_loads_everything_once(con, tmp_path, monkeypatch):
    from smslab.receiving import batches

    landing = tmp_path / "l"
    for i in range(6):
        add_message(con, f"m{i}")
    journal_dlrs(landing, [dlr(f"m{i}", *DELIVERED, "2026-12-01T14:00:05.000+0000") for i in range(6)])
    monkeypatch.setattr(batches, "BATCH_LINES", 2)
    real_write, calls = batches._write, {"n": 0}

    def crashing_write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(batches, "_write", crashing_write)
    with pytest.raises(RuntimeError):
        load(con=con, landing=landing)
    assert store.scalar(con, "SELECT count(*) FROM dlr_events") == 2  # the first batch committed, the second not
    monkeypatch.setattr(batches, "_write", real_write)
    assert load(con=con, landing=landing) == {"loaded": 4, "duplicates": 0, "quarantined": 0}
    assert store.scalar(con, "SELECT count(*) FROM dlr_events") == 6


def test_replies_are_classified_and_opt_outs_reach_the_consent_ledger(con, tmp_path):
    Journal(tmp_path / "l").append_many(
        [
            {
                "provider": "infobip",
                "kind": "inbound",
                "received_at": datetime(2026, 12, 1, 15),
                "body": json.dumps(
                    {
                        "results": [
                            {
                                "messageId": f"mo{i}",
                                "from": "33612345678",
                                "to": "36180",
                                "text": text,
                                "receivedAt": "2026-12-01T14:10:00.000+0000",
                            }
                        ]
                    }
                ),
            }
            for i, text in enumerate(["Arrêt", "HELP", "is it valid in store?", "START"])
        ]
    )
    assert load(con=con, landing=tmp_path / "l")["loaded"] == 4
    intents = dict(con.execute("SELECT text, intent FROM inbound").fetchall())
    assert intents == {"Arrêt": "opt_out", "HELP": "help", "is it valid in store?": "other", "START": "opt_in"}
    ledger = con.execute("SELECT msisdn, scope, action FROM consent ORDER BY action").fetchall()
    assert ledger == [("+33612345678", "36180", "opt_in"), ("+33612345678", "36180", "opt_out")]


def test_ingest_infobip_body_and_csv_files(con, tmp_path):
    add_message(con, "a1")
    add_message(con, "b2")
    body = tmp_path / "report.json"
    body.write_text(json.dumps(dlr("a1", *DELIVERED, "2026-12-01T14:00:05.000+00:00")))
    sheet = tmp_path / "export.csv"
    sheet.write_text(
        "provider_message_id,status,event_at,error_code\n"
        "b2,undelivered,2026-12-01T14:00:09Z,1\n"
        "b2,teleported,2026-12-01T14:00:09Z,\n"
        "b2,delivered,not-a-date,\n"
    )
    assert ingest([body, sheet], con=con) == {"loaded": 2, "duplicates": 0, "quarantined": 2}
    assert ingest([body, sheet], con=con) == {"loaded": 0, "duplicates": 2, "quarantined": 2}
    assert store.scalar(con, "SELECT count(*) FROM quarantine") == 2
    assert status_of(con, "a1") == "delivered" and status_of(con, "b2") == "undelivered"


def test_ingest_rejects_a_csv_without_the_required_columns(con, tmp_path):
    sheet = tmp_path / "wrong.csv"
    sheet.write_text("id,state\n1,delivered\n")
    with pytest.raises(InputError, match="wrong.csv: line 1: missing column"):
        ingest([sheet], con=con)


def test_ingest_names_a_missing_file(con, tmp_path):
    with pytest.raises(InputError, match="nope.json: no such file"):
        ingest([tmp_path / "nope.json"], con=con)


def test_ingest_names_a_folder_passed_instead_of_files(con, tmp_path):
    with pytest.raises(InputError, match="is a folder; pass the report files in it"):
        ingest([tmp_path], con=con)


def test_crlf_blank_and_unterminated_lines_load_with_their_own_line_numbers(con, tmp_path):
    for pmid in ("c1", "c2", "c3"):
        add_message(con, pmid)
    lines = [json.dumps(dlr(p, *DELIVERED, "2026-12-01T14:00:05.000+0000")["results"][0]) for p in ("c1", "c2", "c3")]
    path = tmp_path / "windows.jsonl"
    # CRLF ends, a blank CRLF line, a broken line, and a last line without any line break
    path.write_bytes((lines[0] + "\r\n\r\n" + "{oops\r\n" + lines[1] + "\r\n" + lines[2]).encode())
    assert ingest([path], fmt="infobip", con=con) == {"loaded": 3, "duplicates": 0, "quarantined": 1}
    assert [status_of(con, p) for p in ("c1", "c2", "c3")] == ["delivered"] * 3
    assert con.execute("SELECT location FROM quarantine").fetchall() == [("line 3",)]
    # the stored record is the line as received, without its line break
    raws = [r for (r,) in con.execute("SELECT raw FROM dlr_events ORDER BY provider_message_id").fetchall()]
    assert raws == lines


def test_lines_table_takes_out_every_line_break_and_nothing_else():
    from smslab.receiving.fast import lines_table

    table = lines_table(b"a\r\n\r\nb\rc\n\nlast", first_line=10)
    assert table.column("line").to_pylist() == ["a", "", "b\rc", "", "last"]
    assert table.column("line_no").to_pylist() == [10, 11, 12, 13, 14]
    assert lines_table(b"plain\nlines\n").column("line").to_pylist() == ["plain", "lines"]
    assert lines_table("é\n".encode("latin-1")) is None  # not UTF-8: the caller reads line by line


STATUSES = ["submitted", "sent", "delivered", "undelivered", "expired", "rejected", "failed", "unknown"]
_events = st.lists(
    st.tuples(st.sampled_from(["p1", "p2", "p3"]), st.sampled_from(STATUSES), st.integers(0, 5)),
    min_size=1,
    max_size=14,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_events, cut=st.integers(0, 14))
def test_status_is_the_best_report_whatever_the_order_and_the_batches(con, tmp_path_factory, events, cut):
    """A message's status: a final report beats a non-final one, then the latest, then
    sent > submitted > others, however the reports are split between loads."""
    from smslab.receiving.statuses import FINAL

    con.execute("DELETE FROM messages; DELETE FROM dlr_events")
    for pmid in ("p1", "p2", "p3"):
        add_message(con, pmid)
    folder = tmp_path_factory.mktemp("orders")
    rows = [f"{p},{s},2026-12-01T14:00:0{t}Z" for p, s, t in events]
    for i, part in enumerate((rows[:cut], rows[cut:])):
        path = folder / f"part{i}.csv"
        path.write_text("provider_message_id,status,event_at\n" + "".join(r + "\n" for r in part))
        ingest([path], fmt="csv", con=con)
    rank = {"sent": 3, "submitted": 2}
    for pmid in ("p1", "p2", "p3"):
        mine = [(s in FINAL, t, rank.get(s, 1), s) for p, s, t in events if p == pmid]
        if not mine:
            assert status_of(con, pmid) == "submitted"
            continue
        top = max(m[:3] for m in mine)
        assert status_of(con, pmid) in {m[3] for m in mine if m[:3] == top}


@pytest.mark.parametrize("path", ["sql", "python"])
def test_each_report_keeps_the_text_it_arrived_in(con, tmp_path, monkeypatch, path):
    """raw: a single report line as it is; a body with one report: the body; a body with
    several: each report's own JSON; in the journal, never the envelope around the body.
    The same on the SQL path and on the Python parser's."""
    if path == "python":
        from smslab.receiving import fast

        monkeypatch.setattr(fast, "lines_table", lambda *a, **k: None)
    one = dlr("r1", *DELIVERED, "2026-12-01T14:00:05.000+0000")
    two = {
        "results": dlr("r2", *DELIVERED, "2026-12-01T14:00:05.000+0000")["results"]
        + dlr("r3", *ENROUTE, "2026-12-01T14:00:05.000+0000")["results"]
    }
    bare = dlr("r4", *DELIVERED, "2026-12-01T14:00:05.000+0000")["results"][0]
    journal_dlrs(tmp_path / "l", [one, two, bare])
    assert load(con=con, landing=tmp_path / "l")["loaded"] == 4
    raw = dict(con.execute("SELECT provider_message_id, raw FROM dlr_events").fetchall())
    assert json.loads(raw["r1"]) == one and json.loads(raw["r4"]) == bare
    assert json.loads(raw["r2"]) == two["results"][0] and json.loads(raw["r3"]) == two["results"][1]
    file = tmp_path / "lines.jsonl"
    file.write_text(
        json.dumps(dlr("r5", *DELIVERED, "2026-12-01T14:00:06.000+0000"))
        + "\n"
        + json.dumps(bare | {"messageId": "r6"})
        + "\n"
    )
    assert ingest([file], fmt="infobip", con=con)["loaded"] == 2
    raw = dict(con.execute("SELECT provider_message_id, raw FROM dlr_events").fetchall())
    lines = [json.loads(x) for x in file.read_text().splitlines()]
    assert json.loads(raw["r5"]) == lines[0] and json.loads(raw["r6"]) == lines[1]


def test_lines_table_over_several_shared_buffers(monkeypatch):
    """Views point into the file's bytes through buffers that start every _CHUNK bytes (a GiB):
    with a tiny chunk, lines on either side of every boundary must still read right."""
    from smslab.receiving import fast

    monkeypatch.setattr(fast, "_CHUNK", 64)
    lines = [f"line {i} " * (i % 7) + "é" * (i % 3) for i in range(300)]
    data = "\r\n".join(lines).encode()
    assert fast.lines_table(data).column("line").to_pylist() == lines


def test_newlines_found_block_by_block_are_all_found():
    import numpy as np

    from smslab.receiving.fast import newlines

    data = b"ab\n\ncd\nefghij\n\n\nk" * 7
    expected = [i for i, c in enumerate(data) if c == 10]
    for block in (1, 2, 3, 5, 64, 1 << 24):
        assert newlines(data, block).tolist() == expected
    assert newlines(b"").tolist() == [] and newlines(b"\n").dtype == np.int64


def test_a_results_field_that_is_not_a_list_is_an_unknown_field_of_a_report(con, tmp_path):
    """One rule for files and webhook bodies: a "results" list makes a body; a document with a
    messageId is one report whatever else it holds; neither is an error."""
    add_message(con, "x1")
    report = dlr("x1", *DELIVERED, "2026-12-01T14:00:05.000+0000")["results"][0]
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({**report, "results": False}) + "\n" + json.dumps({"results": 5}) + "\n")
    assert ingest([path], fmt="infobip", con=con) == {"loaded": 1, "duplicates": 0, "quarantined": 1}
    assert status_of(con, "x1") == "delivered"
    assert con.execute("SELECT location, reason FROM quarantine").fetchall() == [
        ("line 2 record", 'record: "results" is not a list')
    ]


@pytest.mark.parametrize("path", ["sql", "python"])
def test_the_operator_of_each_report_is_a_column_on_both_paths(con, tmp_path, monkeypatch, path):
    """Infobip `mccMnc` → dlr_events.operator, whether the body holds one report or several, on
    the SQL path and the Python parser's alike; a value that is not 5-6 digits is no operator."""
    if path == "python":
        from smslab.receiving import fast

        monkeypatch.setattr(fast, "lines_table", lambda *a, **k: None)
    done = "2026-12-01T14:00:05.000+0000"

    def with_mcc(pmid, mcc):
        body = dlr(pmid, *DELIVERED, done)
        if mcc is not None:
            body["results"][0]["mccMnc"] = mcc
        return body

    two = {"results": with_mcc("o2", "20810")["results"] + with_mcc("o3", 310260)["results"]}
    journal_dlrs(
        tmp_path / "l",
        [
            with_mcc("o1", "20801"),
            two,
            with_mcc("o4", "unknown"),
            with_mcc("o5", None),
            with_mcc("o6", True),
            with_mcc("o7", " 20801"),
        ],
    )
    assert load(con=con, landing=tmp_path / "l")["loaded"] == 7
    got = dict(con.execute("SELECT provider_message_id, operator FROM dlr_events").fetchall())
    assert got == {"o1": "20801", "o2": "20810", "o3": "310260", "o4": None, "o5": None, "o6": None, "o7": None}


def test_vonage_and_smpp_network_codes_are_operators(con, tmp_path):
    vonage = tmp_path / "vonage.jsonl"
    vonage.write_text(
        json.dumps(
            {
                "err-code": "0",
                "message-timestamp": "2018-10-25 12:10:29",
                "messageId": "0B00000127FDBC63",
                "msisdn": "447547232824",
                "network-code": "23410",
                "price": "0.03330000",
                "scts": "1810251310",
                "status": "delivered",
                "to": "Nexmo CLI",
            }
        )
        + "\n"
    )
    smpp = tmp_path / "smpp.jsonl"
    smpp.write_text(
        json.dumps(
            {
                "short_message": "id:77 sub:001 dlvrd:001 submit date:2612011400 "
                "done date:2612011401 stat:DELIVRD err:000 text:",
                "esm_class": 4,
                "network_code": "26201",
            }
        )
        + "\n"
    )
    assert ingest([vonage], con=con)["loaded"] == 1
    assert ingest([smpp], con=con)["loaded"] == 1
    got = dict(con.execute("SELECT provider, operator FROM dlr_events").fetchall())
    assert got == {"vonage": "23410", "smpp": "26201"}


@pytest.mark.parametrize("path", ["sql", "python"])
def test_infobip_report_prices_are_kept_per_report_and_priced_onto_their_message(con, tmp_path, monkeypatch, path):
    """price.pricePerMessage and currency (per part charged, smsCount / messageCount parts) go
    to dlr_events and, from the latest priced report, to messages.price with price_source
    'report' (over the submit answer's price); a price that is not a number with a currency is none."""
    if path == "python":
        from smslab.receiving import fast

        monkeypatch.setattr(fast, "lines_table", lambda *a, **k: None)

    def priced(pmid, ids, done, price, **extra):
        body = dlr(pmid, *ids, done)
        body["results"][0].update({"price": price, **extra})
        return body

    for pmid in ("p1", "p2", "p3", "p4"):
        add_message(con, pmid)
    con.execute(
        "UPDATE messages SET price = 0.5, currency = 'USD', price_source = 'provider', segments = 3 "
        "WHERE provider_message_id = 'p3'"
    )
    journal_dlrs(
        tmp_path / "l",
        [
            priced("p1", ENROUTE, "2026-12-01T14:00:01.000+0000", {"pricePerMessage": 0.01, "currency": "EUR"}),
            priced(
                "p1",
                DELIVERED,
                "2026-12-01T14:00:05.000+0000",
                {"pricePerMessage": 0.012, "currency": "EUR"},
                smsCount=2,
            ),
            priced(
                "p2",
                DELIVERED,
                "2026-12-01T14:00:05.000+0000",
                {"pricePerMessage": 7, "currency": "EUR"},
                messageCount=1,
            ),
            priced("p3", DELIVERED, "2026-12-01T14:00:05.000+0000", {"pricePerMessage": 0.02, "currency": "GBP"}),
            priced("p4", DELIVERED, "2026-12-01T14:00:05.000+0000", {"pricePerMessage": "0.01", "currency": "EUR"}),
            priced("p4", ENROUTE, "2026-12-01T14:00:01.000+0000", {"pricePerMessage": 0.01, "currency": "eur"}),
            priced("p4", TO_OPERATOR, "2026-12-01T14:00:02.000+0000", [0.01]),
        ],
    )
    assert load(con=con, landing=tmp_path / "l")["loaded"] == 7
    events = con.execute(
        "SELECT provider_message_id, raw_status, price, currency, parts FROM dlr_events ORDER BY 1, event_at"
    ).fetchall()
    assert events == [
        ("p1", "PENDING_ENROUTE", 0.01, "EUR", 1),
        ("p1", "DELIVERED_TO_HANDSET", 0.012, "EUR", 2),
        ("p2", "DELIVERED_TO_HANDSET", 7.0, "EUR", 1),
        ("p3", "DELIVERED_TO_HANDSET", 0.02, "GBP", 1),
        ("p4", "PENDING_ENROUTE", None, None, 1),
        ("p4", "DELIVERED_TO_OPERATOR", None, None, 1),
        ("p4", "DELIVERED_TO_HANDSET", None, None, 1),
    ]
    messages = dict(
        (r[0], r[1:])
        for r in con.execute("SELECT provider_message_id, price, currency, price_source FROM messages").fetchall()
    )
    assert messages["p1"] == (pytest.approx(0.024), "EUR", "report")
    assert messages["p2"] == (7.0, "EUR", "report")
    assert messages["p3"] == (0.02, "GBP", "report")  # the report's own part count (1) over segments
    assert messages["p4"] == (None, None, None)


@pytest.mark.parametrize("journal", [False, True])
def test_a_malformed_line_that_looks_like_an_object_is_quarantined_and_the_rest_loads(con, tmp_path, journal):
    """The SQL path parses optimistically (no json_valid pass) and starts again with json_valid
    when a line shaped like {…} is not JSON: the answer is the same as for any malformed line."""
    good = json.dumps(dlr("g1", *DELIVERED, "2026-12-01T14:00:05.000+0000"))
    bad = '{"results": [{"messageId": "b1",, "status": {}}]}'
    if journal:
        journal_dlrs(tmp_path / "l", [dlr("g1", *DELIVERED, "2026-12-01T14:00:05.000+0000")])
        with open(journal_files(tmp_path / "l")[0], "a", encoding="utf-8") as out:
            out.write(
                json.dumps(
                    {"id": "x", "provider": "infobip", "kind": "dlr", "received_at": "2026-12-01T15:00:00", "body": bad}
                )
                + "\n"
            )
            out.write('{"id": "y", "provider": "infobip",, "kind": "dlr"}\n')
        counts = load(con=con, landing=tmp_path / "l")
    else:
        file = tmp_path / "r.jsonl"
        file.write_text(good + "\n" + bad + "\n")
        counts = ingest([file], fmt="infobip", con=con)
    assert counts["loaded"] == 1 and counts["quarantined"] == (2 if journal else 1)
    assert (
        store.scalar(
            con,
            "SELECT count(*) FROM quarantine "
            "WHERE reason LIKE '%JSON%' OR reason LIKE '%unparseable%' "
            "OR reason LIKE '%journal%'",
        )
        == counts["quarantined"]
    )


@pytest.mark.parametrize("path", ["sql", "python"])
def test_odd_price_and_count_shapes_load_the_same_on_both_paths(con, tmp_path, monkeypatch, path):
    if path == "python":
        from smslab.receiving import fast

        monkeypatch.setattr(fast, "lines_table", lambda *a, **k: None)
    shapes = [
        {"smsCount": "2"},
        {"smsCount": 1.5},
        {"smsCount": 0, "messageCount": 3},
        {"smsCount": -1},
        {"smsCount": 12345678901},
        {"price": {"pricePerMessage": 1e400, "currency": "EUR"}},
        {"price": {"pricePerMessage": -0.5, "currency": "EUR"}},
        {"price": {"currency": "EUR"}},
        {"price": {"pricePerMessage": 2, "currency": "E\\u0055R"}},
        {"price": "0.01 EUR"},
        {"price": {"pricePerMessage": True, "currency": "EUR"}},
        {"mccMnc": 2080.1},
    ]
    file = tmp_path / "odd.jsonl"
    lines = []
    for i, extra in enumerate(shapes):
        body = dlr(f"x{i}", *DELIVERED, "2026-12-01T14:00:05.000+0000")
        body["results"][0].update(extra)
        lines.append(json.dumps(body).replace("\\\\u0055", "\\u0055"))
    file.write_text("\n".join(lines) + "\n")
    assert ingest([file], fmt="infobip", con=con)["loaded"] == len(shapes)
    got = {
        r[0]: r[1:]
        for r in con.execute("SELECT provider_message_id, price, currency, parts, operator FROM dlr_events").fetchall()
    }
    assert got == {
        "x0": (None, None, None, None),
        "x1": (None, None, None, None),
        "x2": (None, None, 3, None),
        "x3": (None, None, None, None),
        "x4": (None, None, None, None),
        "x5": (None, None, 1, None),
        "x6": (-0.5, "EUR", 1, None),
        "x7": (None, None, 1, None),
        "x8": (2.0, "EUR", 1, None),
        "x9": (None, None, 1, None),
        "x10": (None, None, 1, None),
        "x11": (None, None, 1, None),
    }


def test_inbound_keyword_clean_text_and_media_urls_are_columns(con, tmp_path):
    infobip = tmp_path / "mo.json"
    infobip.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "messageId": "817790313235066447",
                        "from": "385916242493",
                        "to": "385921004026",
                        "text": "QUIZ Correct answer is Paris",
                        "cleanText": "Correct answer is Paris",
                        "keyword": "QUIZ",
                        "receivedAt": "2016-10-06T09:28:39.220+0000",
                        "smsCount": 1,
                        "price": {"pricePerMessage": 0.00, "currency": "EUR"},
                        "callbackData": "callbackData",
                    }
                ],
                "messageCount": 1,
                "pendingMessageCount": 0,
            }
        )
    )
    twilio = tmp_path / "mo.jsonl"
    twilio.write_text(
        json.dumps(
            {
                "MessageSid": "MM1",
                "From": "+15551230000",
                "To": "+15557654321",
                "Body": "look",
                "NumMedia": "2",
                "MediaUrl1": "https://api.twilio.com/m/2",
                "MediaUrl0": "https://api.twilio.com/m/1",
                "MediaContentType0": "image/jpeg",
                "SmsStatus": "received",
                "AccountSid": "AC1",
            }
        )
        + "\n"
        + json.dumps(
            {
                "MessageSid": "SM2",
                "From": "+15551230000",
                "To": "+15557654321",
                "Body": "hi",
                "NumMedia": "0",
                "SmsStatus": "received",
            }
        )
        + "\n"
    )
    assert ingest([infobip], con=con)["loaded"] == 1
    assert ingest([twilio], fmt="twilio", con=con)["loaded"] == 2
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT provider_message_id, provider_keyword, clean_text, media_urls FROM inbound"
        ).fetchall()
    }
    assert rows["817790313235066447"] == ("QUIZ", "Correct answer is Paris", None)
    assert rows["MM1"][:2] == (None, None)
    assert json.loads(rows["MM1"][2]) == ["https://api.twilio.com/m/1", "https://api.twilio.com/m/2"]
    assert rows["SM2"] == (None, None, None)


def test_mapped_report_files_with_a_bom_no_final_newline_or_no_bytes_load(con, tmp_path):
    """Report files are memory-mapped: the edges of the mapping are read like a file's bytes."""
    add_message(con, "b1")
    add_message(con, "b2")
    lines = [json.dumps(dlr(p, *DELIVERED, "2026-12-01T14:00:05.000+0000")) for p in ("b1", "b2")]
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())  # a BOM, and no newline at the end
    assert ingest([bom], fmt="infobip", con=con) == {"loaded": 2, "duplicates": 0, "quarantined": 0}
    assert status_of(con, "b1") == status_of(con, "b2") == "delivered"
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert ingest([empty], fmt="infobip", con=con) == {"loaded": 0, "duplicates": 0, "quarantined": 0}
    pretty = tmp_path / "pretty.json"  # one document over several lines: read whole
    pretty.write_text(json.dumps(dlr("b1", *DELIVERED, "2026-12-01T14:00:06.000+0000"), indent=2))
    assert ingest([pretty], con=con) == {"loaded": 1, "duplicates": 0, "quarantined": 0}
