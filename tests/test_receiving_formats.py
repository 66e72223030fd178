"""The format registry is the one list: the CLI, detect, the loaders and the webhook routes all read it."""

import asyncio
import json
from datetime import datetime
from pathlib import Path

import pytest

from smslab import store
from smslab.cli import cli
from smslab.errors import InputError
from smslab.receiving import formats
from smslab.receiving.file_ingest import ingest
from smslab.receiving.formats import FORMATS, Format, choices, detect
from smslab.receiving.journal_load import load
from smslab.receiving.records import Result, event
from smslab.receiving.webhooks import Settings, create_app


def asgi(app, method: str, path: str, body: bytes = b"") -> int:
    """One request through the ASGI app (no server): its status code."""
    sent: list[dict] = []

    async def run() -> None:
        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "headers": [(b"content-type", b"application/json")],
            "query_string": b"",
            "scheme": "http",
            "server": ("127.0.0.1", 8700),
        }
        await app(scope, receive, send)
        if app.committer is not None:
            await app.committer.stop()

    asyncio.run(run())
    return sent[0]["status"]


def test_the_cli_format_choices_are_the_registry():
    ingest_command = cli.commands["ingest"]
    option = next(p for p in ingest_command.params if p.name == "fmt")
    assert tuple(option.type.choices) == choices() == ("auto", *FORMATS)
    assert set(FORMATS) == {"journal", "csv", "twilio", "vonage", "smpp", "infobip"}


def test_the_webhook_routes_are_the_registry(tmp_path):
    app = create_app(landing=tmp_path, settings=Settings())
    routes = {path: (methods, kind) for path, (methods, _, kind) in app.routes.items() if path != "/healthz"}
    assert routes == {path: route for f in FORMATS.values() for path, route in f.routes.items()}
    assert set(routes) == {
        "/infobip/dlr",
        "/infobip/inbound",
        "/twilio/status",
        "/twilio/inbound",
        "/vonage/dlr",
        "/vonage/inbound",
    }


def test_every_file_kind_is_known_and_every_format_can_read_a_file():
    for fmt in FORMATS.values():
        assert fmt.file_kinds and set(fmt.file_kinds) <= set(formats.FILE_KINDS), fmt.name
        assert fmt.envelopes or fmt.json_record or fmt.csv_row or fmt.text_line, fmt.name
        assert ("csv" in fmt.file_kinds) == (fmt.csv_row is not None), fmt.name


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (
            '{"provider": "infobip", "kind": "dlr", "body": "{}", "received_at": "2026-12-01T14:00:00"}',
            "j.jsonl",
            "journal",
        ),
        ('{"results": [{"messageId": "m1"}]}', "r.jsonl", "infobip"),
        ('{\n  "results": [\n    {"messageId": "m1"}]}', "r.json", "infobip"),  # pretty-printed
        ('{"MessageSid": "SM1", "MessageStatus": "sent"}', "t.jsonl", "twilio"),
        ("Sid,Status,Direction\nSM1,delivered,outbound-api", "t.csv", "twilio"),
        ('{"msisdn": "447700900123", "messageId": "0A1", "status": "delivered"}', "v.jsonl", "vonage"),
        ("Message ID,Direction,Status\n0A1,outbound,delivered", "v.csv", "vonage"),
        (
            "id:1 sub:001 dlvrd:001 submit date:2612011400 done date:2612011401 stat:DELIVRD err:000 text:",
            "s.txt",
            "smpp",
        ),
        ("provider_message_id,status,event_at\na1,delivered,2026-12-01T14:00:00Z", "g.csv", "csv"),
        ("a,b\n1,2", "other.csv", "csv"),  # a .csv nothing else claims: the generic reader names what is missing
    ],
)
def test_detect_finds_each_registered_format(head, name, expected):
    assert detect(Path(name), head) == expected


def test_detect_names_the_registered_formats_when_it_cannot_tell():
    with pytest.raises(InputError) as caught:
        detect(Path("x.txt"), "hello")
    assert caught.value.args[0].endswith(f"pass --format ({', '.join(FORMATS)})")


def _acme(doc, received_at) -> Result:
    return [event("acme", doc["acme_id"], "delivered", "OK", None, None, datetime(2026, 12, 1, 14), doc)], [], []


def _acme_body(body, content_type, received_at) -> Result:
    return _acme(json.loads(body), received_at)


def _acme_validate(body, content_type) -> None:
    if "acme_id" not in json.loads(body):
        raise ValueError("no acme_id")


def test_a_new_format_is_one_registry_entry(tmp_path, monkeypatch):
    """Nothing but the entry: detect finds it, ingest reads it, serve routes it and load parses it."""
    acme = Format(
        "acme",
        ("jsonl",),
        json_keys=frozenset({"acme_id"}),
        json_record=_acme,
        bodies={"dlr": _acme_body},
        routes={"/acme/dlr": (("POST",), "dlr")},
        validate=_acme_validate,
    )
    monkeypatch.setitem(FORMATS, "acme", acme)
    assert "acme" in choices()
    path = tmp_path / "acme.jsonl"
    path.write_text('{"acme_id": "a1"}\n{"acme_id": "a2"}\n')
    assert detect(path, path.read_text()) == "acme"
    con = store.connect(tmp_path / "s.duckdb")
    assert ingest([path], con=con) == {"loaded": 2, "duplicates": 0, "quarantined": 0}
    assert ingest([path], fmt="acme", con=con) == {"loaded": 0, "duplicates": 2, "quarantined": 0}

    landing = tmp_path / "landing"
    app = create_app(landing=landing, settings=Settings())
    assert asgi(app, "POST", "/acme/dlr", b'{"acme_id": "a3"}') == 200
    assert asgi(app, "POST", "/acme/dlr", b'{"other": 1}') == 400  # the format's validator
    assert asgi(app, "GET", "/acme/dlr") == 405
    assert load(con=con, landing=landing) == {"loaded": 1, "duplicates": 0, "quarantined": 0}
    assert sorted(
        r[0] for r in con.execute("SELECT provider_message_id FROM dlr_events WHERE provider = 'acme'").fetchall()
    ) == ["a1", "a2", "a3"]
    con.close()


def test_an_unknown_format_is_one_line_naming_the_flag(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("{}\n")
    with pytest.raises(InputError, match=r"^--format nope: expected one of auto, journal, csv"):
        ingest([path], fmt="nope", db=tmp_path / "s.duckdb")
    assert not (tmp_path / "s.duckdb").exists()
