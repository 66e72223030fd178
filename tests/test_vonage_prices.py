"""Vonage SMS API delivery receipts: `price` and `network-code` kept per report, the currency left unknown."""

import json
from datetime import datetime
from urllib.parse import urlencode

from smslab import store
from smslab.receiving import vonage
from smslab.receiving.journal import Journal
from smslab.receiving.journal_load import load

# the delivery receipt Vonage documents (SMS API, "Delivery receipts"), as a GET query string
RECEIPT = {
    "msisdn": "447700900123",
    "to": "AcmeInc",
    "network-code": "23410",
    "messageId": "0B00000127FDBC63",
    "price": "0.03330000",
    "status": "delivered",
    "scts": "2612011401",
    "err-code": "0",
    "message-timestamp": "2026-12-01 14:01:05",
}


def test_a_receipt_gives_its_part_price_and_operator_without_inventing_a_currency():
    events, replies, problems = vonage.parse_dlr(vonage.decode(urlencode(RECEIPT)))
    assert (replies, problems) == ([], [])
    (e,) = events
    assert (e["price"], e["currency"], e["parts"], e["operator"]) == (0.0333, None, 1, "23410")


def test_a_price_that_is_no_amount_is_none():
    for price in ("", "free", "-0.01", "inf", None):
        receipt = (
            dict(RECEIPT, price=price) if price is not None else {k: v for k, v in RECEIPT.items() if k != "price"}
        )
        (e,), _, _ = vonage.parse_dlr(receipt)
        assert (e["price"], e["parts"]) == (None, None), price


def test_loaded_receipts_keep_the_price_in_dlr_events_and_leave_the_message_price_unknown(con, tmp_path):
    con.execute("""INSERT INTO messages (message_id, campaign_id, msisdn, region, provider, provider_message_id,
                   status, price, currency, segments)
                   VALUES ('id-v1', 'c1', '+447700900123', 'GB', 'vonage', '0B00000127FDBC63', 'submitted',
                           NULL, NULL, 1),
                          ('id-v2', 'c1', '+447700900124', 'GB', 'vonage', '0B00000127FDBC64', 'submitted',
                           0.04, 'EUR', 1)""")
    second = dict(RECEIPT, messageId="0B00000127FDBC64", msisdn="447700900124", price="0.05000000")
    Journal(tmp_path / "l").append_many(
        {
            "provider": "vonage",
            "kind": "dlr",
            "content_type": "application/x-www-form-urlencoded",
            "body": urlencode(r),
            "received_at": datetime(2026, 12, 1, 14, 2),
        }
        for r in (RECEIPT, second)
    )
    assert load(con=con, landing=tmp_path / "l")["loaded"] == 2
    rows = con.execute(
        "SELECT provider_message_id, price, currency, parts, operator FROM dlr_events ORDER BY 1"
    ).fetchall()
    assert rows == [("0B00000127FDBC63", 0.0333, None, 1, "23410"), ("0B00000127FDBC64", 0.05, None, 1, "23410")]
    messages = con.execute(
        "SELECT message_id, status, price, currency, price_source FROM messages ORDER BY 1"
    ).fetchall()
    # no currency in the receipt: the message keeps what it had (unknown, or the submit answer's price)
    assert messages == [("id-v1", "delivered", None, None, None), ("id-v2", "delivered", 0.04, "EUR", None)]
    assert json.loads(store.scalar(con, "SELECT raw FROM dlr_events LIMIT 1"))["price"] in ("0.03330000", "0.05000000")
