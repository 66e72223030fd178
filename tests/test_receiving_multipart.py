"""Long messages: Vonage sends one receipt per part; the message is delivered when every part is."""

import json
from datetime import datetime

import pytest

from smslab import store
from smslab.receiving.journal import Journal
from smslab.receiving.journal_load import load


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "m.duckdb")
    c.execute("""INSERT INTO messages (message_id, campaign_id, msisdn, provider, provider_message_id, segments, status)
                 VALUES ('msg-1', 'c', '+447700900123', 'vonage', 'PART-A', 3, 'submitted'),
                        ('msg-2', 'c', '+447700900124', 'vonage', 'ONE', 1, 'submitted')""")
    yield c
    c.close()


def receipt(part, status, minute, ref="msg-1", err="0"):
    return {
        "provider": "vonage",
        "kind": "dlr",
        "content_type": "application/x-www-form-urlencoded",
        "received_at": datetime(2026, 12, 1, 15),
        "body": f"messageId={part}&msisdn=447700900123&to=ACME&status={status}&err-code={err}"
        f"&client-ref={ref}&message-timestamp=2026-12-01+14%3A{minute:02d}%3A00",
    }


def status(con, message_id="msg-1"):
    return con.execute("SELECT status, status_at FROM messages WHERE message_id = ?", [message_id]).fetchall()[0]


def test_delivered_only_when_every_part_is(con, tmp_path):
    landing = tmp_path / "l"
    Journal(landing).append_many([receipt("PART-A", "delivered", 1), receipt("PART-B", "delivered", 2)])
    load(con=con, landing=landing)
    assert status(con) == ("sent", datetime(2026, 12, 1, 14, 2))  # 2 of 3 parts: still on its way
    Journal(landing).append_many([receipt("PART-C", "accepted", 3)])
    load(con=con, landing=landing)
    assert status(con)[0] == "sent"
    Journal(landing).append_many([receipt("PART-C", "delivered", 4), receipt("PART-C", "delivered", 4)])
    assert load(con=con, landing=landing)["duplicates"] == 1
    assert status(con) == ("delivered", datetime(2026, 12, 1, 14, 4))


def test_a_failed_part_makes_the_message_undelivered_whatever_the_order(con, tmp_path):
    landing = tmp_path / "l"
    Journal(landing).append_many(
        [receipt("PART-B", "failed", 2, err="3"), receipt("PART-A", "delivered", 5), receipt("PART-C", "delivered", 6)]
    )
    load(con=con, landing=landing)
    assert con.execute("SELECT status, error_code FROM messages WHERE message_id = 'msg-1'").fetchall() == [
        ("undelivered", "3")
    ]


def test_a_single_part_message_keeps_the_usual_rules(con, tmp_path):
    landing = tmp_path / "l"
    Journal(landing).append_many(
        [
            receipt("ONE", "delivered", 5, ref="unrelated-campaign-ref"),
            receipt("ONE", "buffered", 9, ref="unrelated-campaign-ref"),
        ]
    )
    load(con=con, landing=landing)
    assert status(con, "msg-2")[0] == "delivered"  # a later non-final report never undoes a final one
    assert status(con)[0] == "submitted"  # a client-ref naming no message links nothing


def test_inbound_parts_are_joined_before_classification_even_across_loads(con, tmp_path):
    landing = tmp_path / "l"

    def part(n, text, mid):
        return {
            "provider": "vonage",
            "kind": "inbound",
            "content_type": "application/json",
            "received_at": datetime(2026, 12, 1, 15, n),
            "body": json.dumps(
                {
                    "messageId": mid,
                    "msisdn": "447700900123",
                    "to": "447700900000",
                    "text": text,
                    "concat": "true",
                    "concat-ref": "12",
                    "concat-total": "2",
                    "concat-part": str(n),
                    "message-timestamp": f"2026-12-01 15:0{n}:00",
                }
            ),
        }

    Journal(landing).append_many([part(2, "STOP", "p2")])
    assert load(con=con, landing=landing)["loaded"] == 1
    assert store.scalar(con, "SELECT count(*) FROM inbound") == 0  # waits for part 1
    Journal(landing).append_many([part(1, "Please ", "p1"), part(1, "Please ", "p1")])
    assert load(con=con, landing=landing) == {"loaded": 1, "duplicates": 1, "quarantined": 0}
    rows = con.execute("SELECT text, intent, review FROM inbound").fetchall()
    assert rows == [("Please STOP", "other", "possible_opt_out")]
    assert store.scalar(con, "SELECT source FROM consent") == "reply-review:vonage"
    assert load(con=con, landing=landing)["loaded"] == 0
    assert store.scalar(con, "SELECT count(*) FROM inbound") == 1
