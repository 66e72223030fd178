"""The quarantine keeps each rejected record exactly as received (bytes that are not UTF-8 and
records of any length included), with its reason and place; a later load of a corrected record
marks its old quarantine row resolved."""

from __future__ import annotations

import json

from smslab import store
from smslab.receiving.file_ingest import ingest
from smslab.receiving.journal_load import load


def _rows(con, source=None):
    sql = "SELECT location, reason, raw_bytes, raw, resolved_at FROM quarantine"
    params = []
    if source is not None:
        sql += " WHERE source = ?"
        params = [source]
    return {r[0]: r[1:] for r in con.execute(sql + " ORDER BY location", params).fetchall()}


def test_non_utf8_and_very_long_records_are_kept_byte_for_byte(tmp_path):
    good = b"id:0221067780 sub:001 dlvrd:001 submit date:1912011200 done date:1912011201 stat:DELIVRD err:000 text:Hi"
    latin = b"id:99 stat:DELIVRD err:000 text:R\xe9ponse \xff\xfe"  # Latin-1, not UTF-8
    long_line = b"id:" + b"x" * 30000 + b" stat:TELEPORTED err:000"  # 30,024 characters
    path = tmp_path / "receipts.txt"
    path.write_bytes(good + b"\n" + latin + b"\r\n" + long_line + b"\n")
    con = store.connect(tmp_path / "q.duckdb")
    counts = ingest([path], fmt="smpp", con=con)
    assert counts == {"loaded": 1, "duplicates": 0, "quarantined": 2}
    rows = _rows(con)
    assert rows["line 2"][0] == "not UTF-8"
    assert bytes(rows["line 2"][1]) == latin + b"\r"  # exactly the bytes of the line
    assert "R\ufffdponse" in rows["line 2"][2]  # readable text beside them
    [(location, (reason, blob, text, _))] = [(k, v) for k, v in rows.items() if k.startswith("line 3")]
    assert bytes(blob) == long_line and text == long_line.decode() and len(text) > 10000
    assert "TELEPORTED" in reason or "stat" in reason


def test_a_json_record_over_10000_characters_is_not_cut(tmp_path):
    record = {"messageId": "m-1", "to": "33612345678", "status": {"groupName": "NOPE"}, "note": "é" * 12000}
    line = json.dumps(record, ensure_ascii=False)
    path = tmp_path / "infobip.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    con = store.connect(tmp_path / "q.duckdb")
    assert ingest([path], fmt="infobip", con=con)["quarantined"] == 1
    [(reason, blob, text, resolved)] = _rows(con).values()
    assert bytes(blob) == line.encode("utf-8") and text == line and resolved is None


def test_a_csv_record_is_kept_as_written_and_a_non_utf8_file_whole(tmp_path):
    path = tmp_path / "reports.csv"
    bad_line = 'g-3,"teleported, twice",2026-12-01T14:00:09Z,'
    path.write_text(
        "provider_message_id,status,event_at,error_code\r\ng-1,delivered,2026-12-01T14:00:09Z,\r\n" + bad_line + "\r\n",
        encoding="utf-8",
        newline="",
    )
    con = store.connect(tmp_path / "q.duckdb")
    assert ingest([path], fmt="csv", con=con) == {"loaded": 1, "duplicates": 0, "quarantined": 1}
    [(reason, blob, text, _)] = _rows(con).values()
    assert text == bad_line and bytes(blob) == bad_line.encode() and "teleported, twice" in reason
    latin = tmp_path / "latin.csv"
    content = "provider_message_id,status,event_at\ng-9,délivré,2026-12-01T14:00:09Z\n".encode("latin-1")
    latin.write_bytes(content)
    ingest([latin], fmt="csv", con=con)
    [(reason, blob, _, _)] = _rows(con, str(latin)).values()
    assert bytes(blob) == content and reason == "not UTF-8 text"


def test_reingesting_a_corrected_record_resolves_its_quarantine_row(tmp_path):
    path = tmp_path / "reports.csv"
    header = "provider_message_id,status,event_at,error_code\n"
    path.write_text(
        header + "g-1,delivered,2026-12-01T14:00:09Z,\n"
        "g-2,teleported,2026-12-01T14:00:09Z,\n"
        "g-3,delivered,not-a-date,\n",
        encoding="utf-8",
    )
    con = store.connect(tmp_path / "q.duckdb")
    assert ingest([path], con=con) == {"loaded": 1, "duplicates": 0, "quarantined": 2}
    path.write_text(
        header + "g-1,delivered,2026-12-01T14:00:09Z,\n"
        "g-2,undelivered,2026-12-01T14:00:09Z,\n"  # corrected
        "g-3,delivered,not-a-date,\n",
        encoding="utf-8",
    )  # still wrong
    assert ingest([path], con=con) == {"loaded": 1, "duplicates": 1, "quarantined": 1}
    rows = _rows(con)
    assert rows["line 3 row"][3] is not None  # the corrected record: resolved
    assert rows["line 4 row"][3] is None  # still in quarantine, open
    status = con.execute("SELECT status FROM dlr_events WHERE provider_message_id = 'g-2'").fetchall()
    assert status == [("undelivered",)]


def test_journal_lines_that_are_not_utf8_are_kept_as_bytes(tmp_path):
    folder = tmp_path / "landing" / "infobip" / "2026-12-01"
    folder.mkdir(parents=True)
    broken = b'{"id": "x", "provider": "infobip", "kind": "dlr", "body": "\xe9\xe9"}'
    (folder / "dlr-a.jsonl").write_bytes(broken + b"\n")
    con = store.connect(tmp_path / "q.duckdb")
    assert load(con=con, landing=tmp_path / "landing")["quarantined"] == 1
    [(reason, blob, _, _)] = _rows(con).values()
    assert bytes(blob) == broken and reason == "not UTF-8"


def test_a_corrected_record_resolves_its_row_however_the_file_is_spelled(tmp_path, monkeypatch):
    """`./x.csv`, `x.csv` and the absolute path are one source (stored absolute and resolved)."""
    monkeypatch.chdir(tmp_path)
    header = "provider_message_id,status,event_at\n"
    bad = header + "g-1,teleported,2026-12-01T14:00:09Z\n"
    good = header + "g-1,delivered,2026-12-01T14:00:09Z\n"
    spellings = ["./x.csv", "x.csv", str(tmp_path / "x.csv")]
    con = store.connect(tmp_path / "q.duckdb")
    for first in spellings:
        for second in spellings:
            con.execute("DELETE FROM quarantine; DELETE FROM dlr_events")
            (tmp_path / "x.csv").write_text(bad, encoding="utf-8")
            assert ingest([first], con=con)["quarantined"] == 1
            (tmp_path / "x.csv").write_text(good, encoding="utf-8")
            assert ingest([second], con=con) == {"loaded": 1, "duplicates": 0, "quarantined": 0}
            sources = con.execute("SELECT source, resolved_at IS NOT NULL FROM quarantine").fetchall()
            assert sources == [(str((tmp_path / "x.csv").resolve()), True)], (first, second)
    stored = con.execute("SELECT DISTINCT source FROM dlr_events").fetchall()
    assert stored == [(str((tmp_path / "x.csv").resolve()),)]
    con.close()


def test_a_symlinked_folder_is_the_same_source(tmp_path, monkeypatch):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    header = "provider_message_id,status,event_at\n"
    (real / "x.csv").write_text(header + "g-1,teleported,2026-12-01T14:00:09Z\n", encoding="utf-8")
    con = store.connect(tmp_path / "q.duckdb")
    assert ingest(["link/x.csv"], con=con)["quarantined"] == 1
    (real / "x.csv").write_text(header + "g-1,delivered,2026-12-01T14:00:09Z\n", encoding="utf-8")
    assert ingest([real / "x.csv"], con=con)["loaded"] == 1
    assert con.execute("SELECT source, resolved_at IS NOT NULL FROM quarantine").fetchall() == [
        (str((real / "x.csv").resolve()), True)
    ]
    con.close()
