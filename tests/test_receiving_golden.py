"""Golden files: every provider format and its variations, ingested into a real DuckDB file.

Each `tests/fixtures/receiving/<name>` has `<name>.expected.json`: the counts and the rows it
must produce in dlr_events, inbound and quarantine. Regenerate after a deliberate change with
`SMSLAB_UPDATE_GOLDEN=1 pytest tests/test_receiving_golden.py` and review the diff.
"""

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from smslab import store
from smslab.clock import utcnow
from smslab.receiving.file_ingest import ingest
from smslab.receiving.formats import detect

FIXTURES = Path(__file__).parent / "fixtures" / "receiving"
FILES = sorted(p for p in FIXTURES.iterdir() if not p.name.endswith(".expected.json") and p.is_file())
FORMATS = {
    "infobip_legacy_body.json": "infobip",
    "infobip_mixed.jsonl": "infobip",
    "twilio_callbacks.jsonl": "twilio",
    "twilio_export.csv": "twilio",
    "vonage_dlr.jsonl": "vonage",
    "vonage_export.csv": "vonage",
    "smpp_receipts.txt": "smpp",
    "smpp_pdus.jsonl": "smpp",
    "generic.csv": "csv",
    "journal_mixed.jsonl": "journal",
}


def snapshot(con, counts):
    now = utcnow()

    def cell(v):
        if isinstance(v, datetime) and abs((now - v).total_seconds()) < 3600:
            return "<time of the load>"  # a record without a time of its own gets the receive time
        return str(v) if v is not None and not isinstance(v, (bool, int)) else v

    def rows(sql):
        return sorted(([cell(v) for v in r] for r in con.execute(sql).fetchall()), key=json.dumps)

    return {
        "counts": counts,
        "dlr_events": rows("""SELECT provider, provider_message_id, status, raw_status, error_code, permanent,
                                     event_at, message_ref FROM dlr_events ORDER BY ALL"""),
        "inbound": rows("""SELECT provider, provider_message_id, msisdn, recipient, text, keyword, intent, review
                           FROM inbound ORDER BY ALL"""),
        "quarantine": rows("SELECT location, reason FROM quarantine ORDER BY ALL"),
    }


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_golden_file(path, tmp_path):
    assert path.name in FORMATS, f"add {path.name} to FORMATS"
    assert detect(path, path.read_text(encoding="utf-8")[:8192]) == FORMATS[path.name]
    con = store.connect(tmp_path / "g.duckdb")
    got = snapshot(con, ingest([path], con=con))
    expected_path = path.with_name(path.name + ".expected.json")
    if os.environ.get("SMSLAB_UPDATE_GOLDEN"):
        expected_path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert got == expected
    # the same file again adds nothing: every record is a duplicate or quarantined (again)
    again = ingest([path], con=con)
    assert again["loaded"] == 0
    assert again["duplicates"] + again["quarantined"] == sum(expected["counts"].values())
    con.close()
