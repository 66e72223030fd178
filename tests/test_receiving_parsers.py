"""Each parser against hand-checked expectations: status tables, vendor variations, validators."""

import json
from datetime import datetime

import pytest

from smslab import store
from smslab.receiving import infobip, smpp, twilio, vonage
from smslab.receiving.formats import FORMATS
from smslab.receiving.journal import Journal
from smslab.receiving.journal_load import load
from smslab.receiving.statuses import FINAL, NORMALISED, SMPP_STAT, TWILIO, VONAGE, infobip_status

AT = datetime(2026, 12, 1, 14)


def test_every_table_maps_onto_the_normalised_statuses():
    for table in (TWILIO, VONAGE, SMPP_STAT):
        assert set(table.values()) <= set(NORMALISED)
    assert {infobip_status(g, None) for g in range(1, 6)} == {"sent", "undelivered", "delivered", "expired", "rejected"}
    assert infobip_status(3, 2) == "sent" and infobip_status(1, 26) == "submitted" and infobip_status(9, 5) is None
    assert FINAL == {"delivered", "undelivered", "expired", "rejected", "failed"}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("queued", "queued"),
        ("accepted", "submitted"),
        ("scheduled", "queued"),
        ("sending", "submitted"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("canceled", "failed"),
        ("partially_delivered", "sent"),
        ("DELIVERED", "delivered"),
        ("received", None),
        ("receiving", None),
        ("", None),
    ],
)
def test_twilio_status_table(raw, expected):
    events, _, problems = twilio.parse_dlr({"MessageSid": "SM1", "MessageStatus": raw}, received_at=AT)
    assert (events[0]["status"] if events else None) == expected
    assert bool(problems) == (expected is None)


def test_twilio_callback_retried_later_is_one_event_and_permanent_errors_are_flagged():
    body = "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005&To=%2B15558675310"
    first = twilio.parse_dlr(twilio.decode(body, "application/x-www-form-urlencoded"), received_at=AT)[0][0]
    later = twilio.parse_dlr(twilio.decode(body), received_at=datetime(2026, 12, 1, 15))[0][0]
    assert first["event_key"] == later["event_key"] == ""
    assert first["permanent"] is True and first["error_code"] == "30005"
    soft = twilio.parse_dlr(
        {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "30003"}, received_at=AT
    )[0][0]
    assert soft["permanent"] is False


def test_twilio_raw_dlr_done_date_is_the_event_time_read_as_utc():
    events = twilio.parse_dlr(
        {"MessageSid": "SM1", "MessageStatus": "delivered", "RawDlrDoneDate": "2302141530"}, received_at=AT
    )[0]
    assert events[0]["event_at"] == datetime(2023, 2, 14, 15, 30)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("accepted", "submitted"),
        ("buffered", "sent"),
        ("delivered", "delivered"),
        ("expired", "expired"),
        ("failed", "undelivered"),
        ("rejected", "rejected"),
        ("unknown", "unknown"),
        ("submitted", "submitted"),
        ("undeliverable", "undelivered"),
        ("read", "delivered"),
        ("lost", None),
    ],
)
def test_vonage_status_table(raw, expected):
    events, _, problems = vonage.parse_dlr({"messageId": "V1", "status": raw}, received_at=AT)
    assert (events[0]["status"] if events else None) == expected
    assert bool(problems) == (expected is None)


def test_vonage_msisdn_means_recipient_in_a_receipt_and_sender_in_an_inbound_message():
    receipt = vonage.decode(
        "messageId=V1&msisdn=447700900123&to=ACME&status=delivered&err-code=0&message-timestamp=2026-12-01+14%3A00%3A05"
    )
    events = vonage.parse_dlr(receipt)[0]
    assert events[0]["provider_message_id"] == "V1" and events[0]["event_at"] == datetime(2026, 12, 1, 14, 0, 5)
    mo = vonage.decode(
        '{"messageId": "M1", "msisdn": "447700900123", "to": "447700900000", "text": "STOP",'
        ' "message-timestamp": "2026-12-01 14:00:05"}',
        "application/json",
    )
    replies = vonage.parse_inbound(mo)[1]
    assert replies[0]["msisdn"] == "+447700900123" and replies[0]["recipient"] == "447700900000"


@pytest.mark.parametrize(
    "err, permanent",
    [("0", False), ("2", False), ("3", True), ("4", True), ("9", True), ("7", False), ("14", True), ("99", False)],
)
def test_vonage_error_codes_keep_their_permanence(err, permanent):
    event = vonage.parse_dlr({"messageId": "V1", "status": "failed", "err-code": err}, received_at=AT)[0][0]
    assert event["permanent"] is permanent
    assert event["error_code"] == (None if err == "0" else err)


@pytest.mark.parametrize(
    "text, pid, stat, err, done",
    [
        (
            "id:0221067780 sub:001 dlvrd:001 submit date:1912011200 done date:1912011201 stat:DELIVRD err:000 text:Hi",
            "0221067780",
            "delivered",
            None,
            datetime(2019, 12, 1, 12, 1),
        ),
        (
            "id:7f3a5c1e sub:1 dlvrd:0 submit date:191201120000 done date:191201120530 stat:UNDELIV err:500 Text:",
            "7f3a5c1e",
            "undelivered",
            "500",
            datetime(2019, 12, 1, 12, 5, 30),
        ),
        ("id:A1B2 stat:EXPIRED err:0 done date:1912011203   ", "A1B2", "expired", None, datetime(2019, 12, 1, 12, 3)),
        (
            "id:9 done date:1912011204 stat:REJECTD err:00B text:stat:DELIVRD err:000",
            "9",
            "rejected",
            "00B",
            datetime(2019, 12, 1, 12, 4),
        ),
        ("ID:10 DONE DATE:1912011205 STAT:ACCEPTD ERR:000", "10", "submitted", None, datetime(2019, 12, 1, 12, 5)),
    ],
)
def test_smpp_receipt_text_variations(text, pid, stat, err, done):
    events, _, problems = smpp.parse_line(text, received_at=AT)
    assert problems == []
    assert (events[0]["provider_message_id"], events[0]["status"], events[0]["error_code"], events[0]["event_at"]) == (
        pid,
        stat,
        err,
        done,
    )


def test_smpp_tlvs_win_over_the_text():
    pdu = {
        "esm_class": 4,
        "short_message": "id:TEXTID stat:DELIVRD err:000 done date:1912011200",
        "receipted_message_id": "TLVID",
        "message_state": 5,
        "network_error_code": "030011",
    }
    event = smpp.parse_pdu(pdu, received_at=AT)[0][0]
    assert (event["provider_message_id"], event["status"], event["raw_status"], event["error_code"]) == (
        "TLVID",
        "undelivered",
        "UNDELIV",
        "17",
    )
    # a short_message that is not Appendix B at all, everything in TLVs (Sicap MMG)
    event = smpp.parse_pdu(
        {"esm_class": 4, "short_message": "362d9701 2", "receipted_message_id": "362d9701", "message_state": 2},
        received_at=AT,
    )[0][0]
    assert event["status"] == "delivered" and event["event_at"] == AT


def test_smpp_mo_deliver_sm_is_a_reply():
    replies = smpp.parse_pdu(
        {"esm_class": 0, "source_addr": "254712345678", "destination_addr": "21456", "short_message": "STOP"},
        received_at=AT,
    )[1]
    assert replies[0]["msisdn"] == "+254712345678" and replies[0]["recipient"] == "21456"
    again = smpp.parse_pdu(
        {"esm_class": 0, "source_addr": "254712345678", "destination_addr": "21456", "short_message": "STOP"},
        received_at=AT,
    )[1]
    assert again[0]["provider_message_id"] == replies[0]["provider_message_id"]  # stable id, so deduplicated


def test_infobip_reads_legacy_and_v3_shapes():
    legacy = {
        "messageId": "a",
        "from": "36180",
        "smsCount": 2,
        "doneAt": "2019-11-09T16:00:00.000+0000",
        "status": {"groupId": 3, "id": 5, "name": "DELIVERED_TO_HANDSET"},
    }
    v3 = {
        "messageId": "b",
        "sender": "441134960000",
        "messageCount": 3,
        "doneAt": "2024-09-09T06:23:37.808+00:00",
        "status": {"groupId": 3, "id": 5, "name": "DELIVERED_TO_HANDSET"},
    }
    events = infobip.parse_dlr({"results": [legacy, v3]})[0]
    assert [e["event_at"] for e in events] == [datetime(2019, 11, 9, 16), datetime(2024, 9, 9, 6, 23, 37, 808000)]


@pytest.mark.parametrize(
    "module, kind, good, bad",
    [
        (infobip, "dlr", b'{"results": []}', [b"{not json", b'["a list"]', b'{"nothing": 1}']),
        (twilio, "dlr", b"MessageSid=SM1&MessageStatus=sent", [b"Foo=bar", b"", b"%%%"]),
        (vonage, "dlr", b"messageId=V1&status=delivered", [b"status=delivered", b"{broken", b"[1]"]),
    ],
)
def test_validators_for_the_webhook_app(module, kind, good, bad):
    for which in ("dlr", "inbound"):  # the app validates both endpoints of each provider
        validate = getattr(module, f"validate_{which}")
        good_type = "application/x-www-form-urlencoded" if module is not infobip else "application/json"
        assert validate(good, good_type) is None
        for body in bad:
            with pytest.raises(ValueError):
                validate(body, "application/x-www-form-urlencoded")


def test_journal_envelopes_of_every_provider_load(tmp_path):
    journalled = {(f.name, kind) for f in FORMATS.values() for kind in f.bodies}
    assert journalled == {(p, k) for p in ("infobip", "twilio", "vonage", "smpp") for k in ("dlr", "inbound")}
    form = "application/x-www-form-urlencoded"
    Journal(tmp_path / "l").append_many(
        [
            {
                "provider": "twilio",
                "kind": "dlr",
                "content_type": form,
                "received_at": AT,
                "body": "MessageSid=SM1&MessageStatus=delivered&To=%2B15558675310",
            },
            {
                "provider": "twilio",
                "kind": "inbound",
                "content_type": form,
                "received_at": AT,
                "body": "MessageSid=SM2&From=%2B15558675310&To=%2B15017122661&Body=HELP",
            },
            {
                "provider": "vonage",
                "kind": "dlr",
                "content_type": form,
                "received_at": AT,  # a GET query string
                "body": "messageId=V1&msisdn=447700900123&to=ACME&status=expired&err-code=2",
            },
            {
                "provider": "vonage",
                "kind": "inbound",
                "content_type": "application/json",
                "received_at": AT,
                "body": json.dumps({"messageId": "V2", "msisdn": "447700900123", "to": "447700900000", "text": "Stop"}),
            },
            {"provider": "vonage", "kind": "dlr", "content_type": form, "received_at": AT, "body": "status=delivered"},
            # as the SMPP provider journals a deliver_sm (TLV values as text)
            {
                "provider": "smpp",
                "kind": "dlr",
                "content_type": "application/json",
                "received_at": AT,
                "body": json.dumps(
                    {
                        "short_message": "id:77 stat:DELIVRD err:000",
                        "esm_class": 4,
                        "receipted_message_id": "77",
                        "message_state": "2",
                        "network_error_code": "030000",
                        "received_at": "2026-12-01T14:00:00.120000",
                    }
                ),
            },
            {
                "provider": "smpp",
                "kind": "inbound",
                "content_type": "application/json",
                "received_at": AT,
                "body": json.dumps(
                    {
                        "short_message": "ARRET",
                        "esm_class": 0,
                        "source_addr": "33612345678",
                        "destination_addr": "36180",
                        "received_at": "2026-12-01T14:00:00.120000",
                    }
                ),
            },
        ]
    )
    con = store.connect(tmp_path / "j.duckdb")
    assert load(con=con, landing=tmp_path / "l") == {"loaded": 6, "duplicates": 0, "quarantined": 1}
    events = con.execute("SELECT provider, status, event_at FROM dlr_events ORDER BY 1").fetchall()
    assert events == [
        ("smpp", "delivered", datetime(2026, 12, 1, 14, 0, 0, 120000)),
        ("twilio", "delivered", AT),
        ("vonage", "expired", AT),
    ]
    assert dict(con.execute("SELECT provider, intent FROM inbound").fetchall()) == {
        "twilio": "help",
        "vonage": "opt_out",
        "smpp": "opt_out",
    }
    assert "messageId missing" in store.scalar(con, "SELECT reason FROM quarantine")
