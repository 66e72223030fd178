"""SMPP receipts as real gateways send them: ids in hex or decimal, every date shape, and a
receipt whose date cannot be read still counts (issue #15)."""

import json
from datetime import datetime

import pytest

from smslab import store
from smslab.receiving.file_ingest import ingest
from smslab.receiving.journal import Journal
from smslab.receiving.journal_load import load
from smslab.receiving.records import receipt_time
from smslab.receiving.smpp import parse_line

RECEIVED = datetime(2026, 12, 1, 14, 5)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2612011401", datetime(2026, 12, 1, 14, 1)),  # SMPP 3.4: YYMMDDhhmm
        ("261201140130", datetime(2026, 12, 1, 14, 1, 30)),  # with seconds
        ("202612011401", datetime(2026, 12, 1, 14, 1)),  # 4-digit year, no seconds
        ("20261201140130", datetime(2026, 12, 1, 14, 1, 30)),  # 4-digit year with seconds
        ("2026-12-01 14:01:30", datetime(2026, 12, 1, 14, 1, 30)),  # separators
        ("26/12/01 14:01", datetime(2026, 12, 1, 14, 1)),
        ("2026-12-01T14:01", datetime(2026, 12, 1, 14, 1)),
    ],
)
def test_every_receipt_date_shape_is_read(text, expected):
    assert receipt_time(text, RECEIVED) == expected
    events, _, problems = parse_line(
        f"id:7 sub:001 dlvrd:001 submit date:{text} done date:{text} stat:DELIVRD err:000 text:", received_at=RECEIVED
    )
    assert problems == [] and events[0]["event_at"] == expected and "flag" not in events[0]


def test_a_twelve_digit_date_is_read_the_way_nearest_the_receive_time():
    # 201201140005: 2020-12-01 14:00:05 (YYMMDDhhmmss) or 2012-01-14 00:05 (YYYYMMDDhhmm)
    assert receipt_time("201201140005", datetime(2020, 12, 1, 14, 1)) == datetime(2020, 12, 1, 14, 0, 5)
    assert receipt_time("201201140005", datetime(2012, 1, 14, 0, 6)) == datetime(2012, 1, 14, 0, 5)
    assert receipt_time("201201140005") == datetime(2020, 12, 1, 14, 0, 5)  # SMPP's own reading


@pytest.mark.parametrize("done", ["2613011401", "yesterday", "26120114", "2612011461"])
def test_a_receipt_whose_date_cannot_be_read_still_loads_its_status_flagged(con, tmp_path, done):
    con.execute("""INSERT INTO messages (message_id, campaign_id, msisdn, provider, provider_message_id, status)
                   VALUES ('m1', 'c', '+33612345678', 'smpp', '7', 'submitted')""")
    file = tmp_path / "receipts.txt"
    file.write_text(f"id:7 sub:001 dlvrd:001 submit date:2612011400 done date:{done} stat:DELIVRD err:000 text:\n")
    assert ingest([file], fmt="smpp", con=con) == {"loaded": 1, "duplicates": 0, "quarantined": 0}
    status, flag, at, received = con.execute("SELECT status, flag, event_at, received_at FROM dlr_events").fetchone()
    assert status == "delivered" and done in flag and "unreadable" in flag and at == received
    assert store.scalar(con, "SELECT status FROM messages") == "delivered"
    assert ingest([file], fmt="smpp", con=con)["loaded"] == 0  # loading it again adds nothing


@pytest.mark.parametrize(
    "submitted, reported",
    [
        ("1D305B4C", "489708364"),  # hex answer to submit_sm, decimal in the receipt
        ("1d305b4c", "0489708364"),  # lower-case hex; zero-padded decimal
        ("489708364", "1D305B4C"),  # the other way round
    ],
)
def test_a_receipt_id_in_the_other_base_updates_its_message(con, tmp_path, submitted, reported):
    con.execute(
        """INSERT INTO messages (message_id, campaign_id, msisdn, provider, provider_message_id, status)
                   VALUES ('m1', 'c', '+33612345678', 'smpp', ?, 'submitted'),
                          ('m2', 'c', '+33612345679', 'smpp', 'ABC', 'submitted')""",
        [submitted],
    )
    file = tmp_path / "receipts.jsonl"
    file.write_text(
        json.dumps(
            {
                "short_message": f"id:{reported} sub:001 dlvrd:001 submit date:2612011400 "
                "done date:2612011401 stat:DELIVRD err:000 text:",
                "esm_class": 4,
            }
        )
        + "\n"
    )
    assert ingest([file], fmt="smpp", con=con)["loaded"] == 1
    assert store.scalar(con, "SELECT status FROM messages WHERE message_id = 'm1'") == "delivered"
    assert store.scalar(con, "SELECT status FROM messages WHERE message_id = 'm2'") == "submitted"
    pmid, raw = con.execute("SELECT provider_message_id, raw FROM dlr_events").fetchone()
    assert pmid == submitted and f"id:{reported}" in raw  # the id as received stays in raw
    assert ingest([file], fmt="smpp", con=con) == {"loaded": 0, "duplicates": 1, "quarantined": 0}


def test_a_receipt_that_came_before_its_submit_answer_is_matched_when_the_answer_is_recorded(con, tmp_path):
    """The journal's receipt (decimal) is loaded first; the message gets its hex id afterwards,
    through the sender's own refresh."""
    from smslab.receiving.status_rollup import refresh_statuses

    Journal(tmp_path / "l").append_many(
        [
            {
                "provider": "smpp",
                "kind": "dlr",
                "received_at": RECEIVED,
                "body": json.dumps(
                    {
                        "short_message": "id:255 sub:001 dlvrd:001 submit date:2612011400 "
                        "done date:2612011401 stat:UNDELIV err:001",
                        "esm_class": 4,
                    }
                ),
            }
        ]
    )
    load(con=con, landing=tmp_path / "l")
    con.execute("""INSERT INTO messages (message_id, campaign_id, msisdn, provider, provider_message_id, status)
                   VALUES ('m1', 'c', '+33612345678', 'smpp', 'ff', 'submitted')""")
    con.execute("CREATE OR REPLACE TEMP TABLE _sent_ids AS SELECT 'ff' AS provider_message_id")
    refresh_statuses(con, "_sent_ids")
    assert store.scalar(con, "SELECT status FROM messages") == "undelivered"


def test_an_ambiguous_id_is_left_alone(con, tmp_path):
    """'10' in decimal is hex 'A', and '10' in hex is decimal '16': a receipt that matches two
    messages matches neither."""
    con.execute("""INSERT INTO messages (message_id, campaign_id, msisdn, provider, provider_message_id, status)
                   VALUES ('m1', 'c', '+33612345678', 'smpp', 'A', 'submitted'),
                          ('m2', 'c', '+33612345679', 'smpp', '16', 'submitted')""")
    file = tmp_path / "r.txt"
    file.write_text("id:10 sub:001 dlvrd:001 submit date:2612011400 done date:2612011401 stat:DELIVRD err:000 text:\n")
    ingest([file], fmt="smpp", con=con)
    assert {r[0] for r in con.execute("SELECT status FROM messages").fetchall()} == {"submitted"}
