"""`smslab ingest` and `smslab load` from the command line: one JSON document, user errors on stderr."""

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from smslab.cli import cli

FIXTURES = Path(__file__).parent / "fixtures" / "receiving"


def test_ingest_detects_every_format_and_counts_once(tmp_path):
    files = [
        FIXTURES / n
        for n in (
            "infobip_mixed.jsonl",
            "twilio_callbacks.jsonl",
            "vonage_export.csv",
            "smpp_receipts.txt",
            "generic.csv",
        )
    ]
    db = str(tmp_path / "c.duckdb")
    result = CliRunner().invoke(cli, ["ingest", *map(str, files), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.output)
    expected = [json.loads((f.parent / (f.name + ".expected.json")).read_text())["counts"] for f in files]
    assert first == {k: sum(e[k] for e in expected) for k in ("loaded", "duplicates", "quarantined")}
    again = json.loads(CliRunner().invoke(cli, ["ingest", *map(str, files), "--db", db, "--json"]).output)
    assert again["loaded"] == 0 and again["quarantined"] == first["quarantined"]


def test_ingest_user_errors_name_the_file(tmp_path):
    odd = tmp_path / "notes.txt"
    odd.write_text("hello\nworld\n")
    result = CliRunner().invoke(cli, ["ingest", str(odd), "--db", str(tmp_path / "c.duckdb"), "--json"])
    assert result.exit_code != 0
    assert "notes.txt: line 1: cannot tell the format" in result.output
    assert "Traceback" not in result.output


def test_load_moves_a_journal_copied_from_elsewhere(tmp_path):
    landing = tmp_path / "landing" / "infobip" / "2026-12-01"
    landing.mkdir(parents=True)
    body = (FIXTURES / "infobip_legacy_body.json").read_text()
    line = json.dumps(
        {
            "id": "x",
            "provider": "infobip",
            "kind": "dlr",
            "received_at": "2026-12-01T15:00:00",
            "content_type": "application/json",
            "body": body,
        }
    )
    (landing / "dlr-h-1-a.jsonl").write_text(line + "\n")
    shutil.copy(landing / "dlr-h-1-a.jsonl", landing / "dlr-h-2-b.jsonl")  # the same callback twice
    args = ["load", "--db", str(tmp_path / "c.duckdb"), "--landing", str(tmp_path / "landing"), "--json"]
    assert json.loads(CliRunner().invoke(cli, args).output) == {"loaded": 2, "duplicates": 2, "quarantined": 0}
    assert json.loads(CliRunner().invoke(cli, args).output) == {"loaded": 0, "duplicates": 0, "quarantined": 0}


def test_ingest_reads_gzip_files_like_plain_ones(tmp_path):
    import gzip

    plain = FIXTURES / "generic.csv"
    packed = tmp_path / "generic.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    want = json.loads((FIXTURES / "generic.csv.expected.json").read_text())["counts"]
    got = CliRunner().invoke(cli, ["ingest", str(packed), "--db", str(tmp_path / "c.duckdb"), "--json"])
    assert json.loads(got.stdout) == want  # format told from generic.csv inside, every record read
