"""Hand-written expectations for every receiving fixture, beside the golden files.

The `*.expected.json` goldens are the loader's own output (`SMSLAB_UPDATE_GOLDEN` rewrites them),
so they only say "nothing changed". The facts below were written by reading each fixture line and
the provider's documented meaning (the status tables in docs/data-model.md, the provider notes in
docs/providers.md, SMPP 3.4 Appendix B): no value here comes from smslab code. Each file is loaded
into a real DuckDB file by `ingest`, and what lands in `dlr_events`, `inbound` and `quarantine` must
be exactly these rows, no more, no fewer.

Conventions: times are UTC; `LOAD_TIME` marks a record that carries no time of its own (the
receive time, i.e. the moment of the ingest, is the documented fallback); `permanent` is None
where the provider has no such flag (SMPP, the generic CSV) and False for a report with no error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest

from smslab import store
from smslab.receiving.file_ingest import ingest

FIXTURES = Path(__file__).parent / "fixtures" / "receiving"
LOAD_TIME = "the time of the load"


class Dlr(NamedTuple):
    provider: str
    id: str
    status: str  # normalised
    raw_status: str  # as the provider wrote it
    error_code: str | None
    permanent: bool | None
    event_at: str  # UTC, or LOAD_TIME
    message_ref: str | None = None  # None: the report's own id


class Reply(NamedTuple):
    provider: str
    id: str
    sender: str  # inbound.msisdn, E.164
    recipient: str  # our number / short code
    text: str
    keyword: str | None
    intent: str
    review: str | None
    received_at: str


class Expected(NamedTuple):
    dlr: list[Dlr]
    replies: list[Reply]
    quarantined: dict[int, str]  # line number -> a word the reason must contain


EXPECTED: dict[str, Expected] = {
    # provider_message_id,status,event_at,error_code: status already normalised (any case), ISO time
    "generic.csv": Expected(
        dlr=[
            Dlr("csv", "g-1", "delivered", "delivered", None, None, "2026-12-01 14:00:09"),
            # +01:00 -> one hour earlier in UTC
            Dlr("csv", "g-2", "undelivered", "UNDELIVERED", "EC_ABSENT", None, "2026-12-01 13:00:09"),
        ],
        replies=[],
        quarantined={4: "teleported", 5: "not-a-date", 6: "provider_message_id"},
    ),
    # one pretty-printed webhook body; error id 0 = NO_ERROR; doneAt +0100 -> 16:30 UTC
    "infobip_legacy_body.json": Expected(
        dlr=[
            Dlr(
                "infobip", "MESSAGE-ID-123-xyz", "delivered", "DELIVERED_TO_HANDSET", None, False, "2019-11-09 16:00:00"
            ),
            Dlr(
                "infobip",
                "MESSAGE-ID-124-xyz",
                "undelivered",
                "UNDELIVERABLE_NOT_DELIVERED",
                "1",
                True,
                "2019-11-09 16:30:00",
            ),
        ],
        replies=[],
        quarantined={},
    ),
    "infobip_mixed.jsonl": Expected(
        dlr=[
            Dlr("infobip", "v3-1", "delivered", "DELIVERED_TO_HANDSET", None, False, "2024-09-09 06:23:37.808"),
            # group 3 status 2 DELIVERED_TO_OPERATOR is intermediate: sent
            Dlr("infobip", "legacy-1", "sent", "DELIVERED_TO_OPERATOR", None, False, "2026-12-01 14:00:01.250"),
            # group 1 status 26 MESSAGE_ACCEPTED: submitted; no doneAt, so sentAt
            Dlr("infobip", "legacy-2", "submitted", "MESSAGE_ACCEPTED", None, False, "2026-12-01 14:00:00"),
            Dlr("infobip", "exp-1", "expired", "EXPIRED_EXPIRED", "27", False, "2026-12-03 14:00:00"),
            Dlr(
                "infobip",
                "rej-1",
                "rejected",
                "REJECTED_DESTINATION_BLOCKLISTED",
                "573",
                True,
                "2026-12-01 14:00:00.100",
            ),
        ],
        # QUIZ is Infobip's keyword match, not one of smslab's (no campaign declares it): other
        replies=[
            Reply(
                "infobip",
                "MO-1",
                "+385916242493",
                "+385921004026",
                "QUIZ Correct answer is Paris",
                None,
                "other",
                None,
                "2016-10-06 09:28:39.220",
            )
        ],
        # line 5 is blank (skipped); 6: group 9 is no Infobip group; 7: doneAt 'yesterday'; 8: cut off
        quarantined={6: "SOMETHING_NEW", 7: "yesterday", 8: "JSON"},
    ),
    # smslab serve's envelopes: a record without its own time takes the envelope's received_at
    "journal_mixed.jsonl": Expected(
        dlr=[
            Dlr("infobip", "IB-1", "delivered", "DELIVERED_TO_HANDSET", None, False, "2026-12-01 14:00:05"),
            # RawDlrDoneDate 2612011400 = YYMMDDhhmm
            Dlr("twilio", "SM0001", "undelivered", "undelivered", "30003", False, "2026-12-01 14:00:00"),
            Dlr("vonage", "0B01", "delivered", "delivered", None, False, "2026-12-01 14:00:08"),
            Dlr("smpp", "1", "delivered", "DELIVRD", None, None, "2026-12-01 14:00:09"),
        ],
        replies=[
            Reply(
                "infobip", "IB-MO-1", "+33612345678", "36180", "Arrêt", "ARRET", "opt_out", None, "2026-12-01 14:09:59"
            ),
            Reply(
                "twilio",
                "SM0002",
                "+15558675310",
                "+15017122661",
                "please stop texting me",
                None,
                "other",
                "possible_opt_out",
                "2026-12-01 14:11:00",
            ),
            Reply(
                "vonage", "0B02", "+447547232824", "+447700900000", "HELP", "HELP", "help", None, "2026-12-01 14:12:00"
            ),
        ],
        # 8: a body that is not JSON; 9: not an envelope; 10: provider 'sinch' has no parser
        quarantined={8: "body", 9: "journal line", 10: "sinch"},
    ),
    "smpp_pdus.jsonl": Expected(
        dlr=[
            Dlr("smpp", "1d305b4c", "delivered", "DELIVRD", None, None, "2019-12-01 12:01:00"),
            # message_state 5 = UNDELIV; network_error_code 03 0001 = GSM (type 3), error 1; no done
            # date, so the deliver_sm's received_at
            Dlr("smpp", "362d9701", "undelivered", "UNDELIV", "1", None, "2019-12-01 12:03:00"),
            # the TLVs (receipted_message_id BBB, message_state UNDELIV) win over the text
            Dlr("smpp", "BBB", "undelivered", "UNDELIV", None, None, "2019-12-01 12:05:00"),
        ],
        # esm_class 0, not a receipt: an MO reply
        replies=[
            Reply("smpp", "mo-77", "+447700900124", "60123", "ARRET", "ARRET", "opt_out", None, "2019-12-01 12:10:00")
        ],
        quarantined={5: "no message id"},
    ),
    "smpp_receipts.txt": Expected(
        dlr=[
            Dlr("smpp", "0221067780", "delivered", "DELIVRD", None, None, "2019-12-01 12:01:00"),
            # done date of 12 digits: YYMMDDhhmmss (the YYYYMMDDhhmm reading is 1912)
            Dlr(
                "smpp",
                "7f3a5c1e-0000-4c4c-9d9d-1234567890ab",
                "undelivered",
                "UNDELIV",
                "500",
                None,
                "2019-12-01 12:05:30",
            ),
            Dlr("smpp", "1d305b4c", "expired", "EXPIRED", None, None, LOAD_TIME),  # no done date
            # 'stat:DELIVRD' inside text: is not the status
            Dlr("smpp", "44", "rejected", "REJECTD", "00B", None, "2019-12-01 12:03:00"),
            Dlr("smpp", "45", "submitted", "ACCEPTD", None, None, "2019-12-01 12:04:00"),
            Dlr("smpp", "46", "sent", "ENROUTE", None, None, "2019-12-01 12:05:00"),
            Dlr("smpp", "47", "failed", "DELETED", None, None, "2019-12-01 12:06:00"),
            Dlr("smpp", "48", "unknown", "UNKNOWN", None, None, "2019-12-01 12:07:00"),
            # minute 99: unreadable, the status still loads with the receive time (docs/providers.md)
            Dlr("smpp", "49", "delivered", "DELIVRD", None, None, LOAD_TIME),
        ],
        replies=[],
        quarantined={10: "SMOKED", 11: "not an SMPP receipt"},
    ),
    "twilio_callbacks.jsonl": Expected(
        dlr=[
            Dlr("twilio", "SM0001", "sent", "sent", None, False, "2026-12-01 14:00:01"),
            Dlr("twilio", "SM0001", "delivered", "delivered", None, False, "2026-12-01 14:02:00"),
            Dlr("twilio", "SM0002", "undelivered", "undelivered", "30003", False, "2023-02-14 15:30:00"),
            # 21610: the person replied STOP, permanent
            Dlr("twilio", "SM0003", "failed", "failed", "21610", True, "2026-12-01 14:00:02"),
            # read implies delivered; received at 14:05 +01:00
            Dlr("twilio", "SM0004", "delivered", "read", None, False, "2026-12-01 13:05:00"),
        ],
        replies=[
            Reply(
                "twilio",
                "SM1111",
                "+15558675310",
                "+15017122661",
                "STOP",
                "STOP",
                "opt_out",
                None,
                "2026-12-01 15:00:00",
            )
        ],
        # 'receiving' is an inbound status, 'teleported' no status at all
        quarantined={6: "receiving", 7: "teleported"},
    ),
    "twilio_export.csv": Expected(
        dlr=[
            Dlr("twilio", "SM9001", "delivered", "delivered", None, False, "2026-12-01 14:00:05"),
            Dlr("twilio", "SM9002", "undelivered", "undelivered", "30006", True, "2026-12-01 14:00:06"),
        ],
        replies=[
            Reply(
                "twilio",
                "SM9003",
                "+15558675312",
                "+15017122661",
                "Cancel",
                "CANCEL",
                "opt_out",
                None,
                "2026-12-01 15:00:00",
            )
        ],
        quarantined={5: "sending-somewhere"},
    ),
    "vonage_dlr.jsonl": Expected(
        dlr=[
            Dlr("vonage", "0B00000127FDBC63", "delivered", "delivered", None, False, "2018-10-25 12:10:29"),
            # failed = undelivered; err-code 3 (absent subscriber, permanent)
            Dlr("vonage", "0B00000127FDBC64", "undelivered", "failed", "3", True, "2018-10-25 12:11:00"),
            # no message-timestamp: scts 2001011400
            Dlr("vonage", "0B00000127FDBC65", "sent", "buffered", None, False, "2020-01-01 14:00:00"),
            # one receipt per part; client-ref names the whole message
            Dlr("vonage", "PART-1", "delivered", "delivered", None, False, "2018-10-25 12:10:29", "long-msg-1"),
            Dlr("vonage", "PART-2", "delivered", "delivered", None, False, "2018-10-25 12:10:31", "long-msg-1"),
            # Messages API status: error title 1240 (illegal sender address), not in the permanent list
            Dlr(
                "vonage",
                "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                "rejected",
                "rejected",
                "1240",
                False,
                "2023-05-01 14:00:00",
            ),
        ],
        replies=[
            Reply(
                "vonage",
                "MO-V-1",
                "+447700900002",
                "+447700900000",
                "STOP",
                "STOP",
                "opt_out",
                None,
                "2020-01-01 12:00:00",
            ),
            # two concat parts (listed 2 then 1) joined in part order, received when the last came
            Reply(
                "vonage",
                "concat:7:MO-V-2a",
                "+447700900003",
                "+447700900000",
                "Please stop sending these texts, but I still want the deals",
                None,
                "other",
                "possible_opt_out",
                "2020-01-01 12:00:01",
            ),
        ],
        quarantined={7: "mangled"},
    ),
    "vonage_export.csv": Expected(
        dlr=[
            Dlr("vonage", "0C000000ABCD0001", "delivered", "delivered", None, False, "2026-12-01 14:00:04"),
            # error 2 (absent subscriber, temporary); the event is date_finalized
            Dlr("vonage", "0C000000ABCD0002", "expired", "expired", "2", False, "2026-12-03 14:00:00"),
        ],
        replies=[
            Reply(
                "vonage",
                "0C000000ABCD0003",
                "+447700900012",
                "+447700900000",
                "",
                None,
                "other",
                None,
                "2026-12-01 15:00:00",
            )
        ],
        quarantined={},
    ),
}

FILES = sorted(p.name for p in FIXTURES.iterdir() if p.is_file() and not p.name.endswith(".expected.json"))


def test_every_fixture_has_hand_written_expectations() -> None:
    assert sorted(EXPECTED) == FILES


def _time(value: str, loaded: tuple[datetime, datetime]) -> object:
    """The expected time, or for LOAD_TIME the interval of the load (compared by `Within`)."""
    return Within(*loaded) if value == LOAD_TIME else datetime.fromisoformat(value)


class Within:
    def __init__(self, lo: datetime, hi: datetime) -> None:
        self.lo, self.hi = lo, hi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, datetime) and self.lo <= other <= self.hi

    def __repr__(self) -> str:
        return f"<between {self.lo} and {self.hi}>"


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.mark.parametrize("name", FILES)
def test_hand_written_expectations(name: str, tmp_path: Path) -> None:
    expected = EXPECTED[name]
    con = store.connect(tmp_path / "x.duckdb")
    try:
        before = _utc_now()
        counts = ingest([FIXTURES / name], con=con)
        loaded = (before, _utc_now())

        got = sorted(
            con.execute("""SELECT provider, provider_message_id, status, raw_status, error_code, permanent,
                                           event_at, message_ref FROM dlr_events""").fetchall(),
            key=repr,
        )
        want = [
            (
                d.provider,
                d.id,
                d.status,
                d.raw_status,
                d.error_code,
                d.permanent,
                _time(d.event_at, loaded),
                d.message_ref or d.id,
            )
            for d in expected.dlr
        ]
        assert len(got) == len(want), (got, want)
        for row in got:  # every stored row is exactly one expected row
            assert row in want, (row, want)
        for row in want:
            assert row in got, (row, got)

        got_replies = sorted(
            con.execute("""SELECT provider, provider_message_id, msisdn, recipient, text, keyword,
                                                   intent, review, received_at FROM inbound""").fetchall()
        )
        want_replies = sorted(
            (
                r.provider,
                r.id,
                r.sender,
                r.recipient,
                r.text,
                r.keyword,
                r.intent,
                r.review,
                datetime.fromisoformat(r.received_at),
            )
            for r in expected.replies
        )
        assert got_replies == want_replies

        bad = con.execute("SELECT location, reason FROM quarantine").fetchall()
        lines = {int(location.split()[1]): reason for location, reason in bad}
        assert sorted(lines) == sorted(expected.quarantined), bad
        for line, word in expected.quarantined.items():
            assert word in lines[line], (line, word, lines[line])

        assert counts == {
            "loaded": len(expected.dlr) + len(expected.replies) + _extra_parts(name),
            "duplicates": 0,
            "quarantined": len(expected.quarantined),
        }
    finally:
        con.close()


def _extra_parts(name: str) -> int:
    """Records loaded that are not rows of their own: a long inbound message's second part."""
    return {"vonage_dlr.jsonl": 1}.get(name, 0)


@pytest.mark.parametrize(
    ("name", "sql", "row"),
    [
        # Infobip's own keyword match and the text without it (inbound.provider_keyword, clean_text)
        (
            "infobip_mixed.jsonl",
            "SELECT provider_keyword, clean_text FROM inbound WHERE provider_message_id = 'MO-1'",
            ("QUIZ", "Correct answer is Paris"),
        ),
        # Vonage network-code is the operator's MCC/MNC (234 10: UK O2)
        (
            "vonage_dlr.jsonl",
            "SELECT operator FROM dlr_events WHERE provider_message_id = '0B00000127FDBC63'",
            ("23410",),
        ),
        # an unreadable SMPP done date is flagged, naming the date
        (
            "smpp_receipts.txt",
            "SELECT flag LIKE '%1912011299%' FROM dlr_events WHERE provider_message_id = '49'",
            (True,),
        ),
        # an opt-out reply to a short code goes to the consent ledger for that number and scope
        (
            "journal_mixed.jsonl",
            "SELECT msisdn, scope, action FROM consent WHERE msisdn = '+33612345678'",
            ("+33612345678", "36180", "opt_out"),
        ),
    ],
)
def test_provider_facts(name: str, sql: str, row: tuple, tmp_path: Path) -> None:
    con = store.connect(tmp_path / "x.duckdb")
    try:
        ingest([FIXTURES / name], con=con)
        assert con.execute(sql).fetchall() == [row]
    finally:
        con.close()


# Infobip (groupId, id) -> normalised, from the table in docs/data-model.md, one report per row
INFOBIP_TABLE = [
    (1, 26, "submitted"),
    (1, 7, "sent"),
    (2, 9, "undelivered"),
    (3, 2, "sent"),
    (3, 5, "delivered"),
    (4, 15, "expired"),
    (5, 14, "rejected"),
]


@pytest.mark.parametrize("shape", ["jsonl", "pretty body"])
def test_infobip_status_table_on_both_reading_paths(shape: str, tmp_path: Path) -> None:
    """JSON lines go through the loader's SQL path, a pretty-printed body through the Python parser:
    both give the documented status for every row of the table."""
    import json

    reports = [
        {
            "messageId": f"t-{g}-{i}",
            "doneAt": "2026-12-01T14:00:00.000+0000",
            "status": {"groupId": g, "id": i, "name": f"S{i}"},
        }
        for g, i, _ in INFOBIP_TABLE
    ]
    path = tmp_path / ("r.jsonl" if shape == "jsonl" else "r.json")
    path.write_text(
        "\n".join(json.dumps(r) for r in reports) + "\n"
        if shape == "jsonl"
        else json.dumps({"results": reports}, indent=2),
        encoding="utf-8",
    )
    con = store.connect(tmp_path / "x.duckdb")
    try:
        ingest([path], fmt="infobip", con=con)
        got = dict(con.execute("SELECT provider_message_id, status FROM dlr_events").fetchall())
    finally:
        con.close()
    assert got == {f"t-{g}-{i}": status for g, i, status in INFOBIP_TABLE}
