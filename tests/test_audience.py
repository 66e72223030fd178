"""Audience loading: normalised, deduplicated recipients; bad rows quarantined; bad files one clear error."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from smslab.audience import FRAME_COLUMNS, load
from smslab.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "audience"


def test_basic_csv_frame_shape_and_values():
    result = load(FIXTURES / "basic.csv", default_region="FR")
    frame = result.frame
    assert list(frame.columns) == FRAME_COLUMNS
    assert frame["msisdn"].tolist() == ["+33612345678", "+254712345678", "+18005550199", "+33781234567"]
    first = frame.iloc[0]
    assert first["region"] == "FR" and bool(first["valid"]) and first["number_type"] == "mobile"
    assert first["time_zone"] == "Europe/Paris" and list(first["time_zones"]) == ["Europe/Paris"]
    assert first["carrier"] == "SFR"
    # two rows for +33612345678: the later consent (2026-03-01 09:30+01:00 = 08:30 UTC) wins
    assert first["consent_at"] == pd.Timestamp("2026-03-01 08:30:00")
    assert first["consent_source"] == "store"
    assert json.loads(first["attributes"]) == {"first_name": "Ana B", "tier": "silver"}
    assert first["row"] == 2
    # the per-row region KE overrides the default FR
    assert frame.iloc[1]["region"] == "KE" and frame.iloc[1]["carrier"] == "Safaricom"
    toll = frame.iloc[2]
    assert toll["number_type"] == "toll_free" and pd.isna(toll["consent_at"]) and toll["consent_source"] is None
    assert json.loads(toll["attributes"])["first_name"] == "Smith, John"
    assert str(frame["consent_at"].dtype) == "datetime64[ns]"


def test_basic_csv_quarantine_and_summary():
    result = load(FIXTURES / "basic.csv", default_region="FR")
    by_line = {q["location"]: q for q in result.quarantined}
    assert set(by_line) == {"line 6", "line 7", "line 8"}
    assert "+33712345678 is not a valid number" in by_line["line 6"]["reason"]
    assert by_line["line 6"]["raw"] == "+33 7 12 34 56 78,,2026-01-01,web,Nobody,"
    assert "consent_at 'yesterday' is not a date" in by_line["line 7"]["reason"]
    assert "not a phone number" in by_line["line 8"]["reason"]
    assert all(q["source"] == str(FIXTURES / "basic.csv") for q in result.quarantined)
    assert result.summary == {
        "rows": 8, "loaded": 4, "duplicates": 1, "quarantined": 3,
        "by_country": {"FR": 2, "KE": 1, "US": 1},
        "by_number_type": {"mobile": 3, "toll_free": 1},
    }


def test_duplicates_keep_latest_consent_then_first_row(tmp_path):
    path = tmp_path / "dups.csv"
    path.write_text(
        "msisdn,consent_at,consent_source\n"
        "+33612345678,,none\n"               # no consent: loses to any dated row
        "0612345678,2026-01-01,old\n"
        "06.12.34.56.78,2026-05-01,new\n"    # latest: wins
        "+33 6 12 34 56 78,2026-02-01,mid\n"
        "+447400123456,,a\n"
        "07400 123456,,b\n",
        encoding="utf-8")
    result = load(path, default_region="FR")
    frame = result.frame.set_index("msisdn")
    assert frame.loc["+33612345678", "consent_source"] == "new"
    assert frame.loc["+33612345678", "row"] == 3
    assert frame.loc["+447400123456", "consent_source"] == "a"  # tie without consent: first row
    assert result.summary["duplicates"] == 3
    # "07400 123456" read with FR as default is not a GB number: quarantined, not merged
    assert result.summary["quarantined"] == 1


@pytest.mark.parametrize("name, expected", [
    ("semicolon.csv", "looks separated by semicolons"),
    ("no_msisdn.csv", "no 'msisdn' column; found 'phone', 'name'"),
    ("empty.csv", "the file is empty"),
    ("junk.csv", "binary file"),
    ("latin1.csv", "line 3: the file is not UTF-8"),
    ("does_not_exist.csv", "no such file"),
])
def test_malformed_files_give_one_clear_error(name, expected):
    with pytest.raises(InputError) as info:
        load(FIXTURES / name)
    message = str(info.value)
    assert expected in message
    assert str(FIXTURES / name) in message  # names the file
    assert "\n" not in message


def test_header_only_is_an_empty_audience(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("msisdn,region\n", encoding="utf-8")
    result = load(path)
    assert list(result.frame.columns) == FRAME_COLUMNS and len(result.frame) == 0
    assert result.summary["rows"] == 0 and result.summary["by_country"] == {}


def test_ragged_rows_are_quarantined_with_their_line(tmp_path):
    result = load(FIXTURES / "ragged.csv", default_region="FR")
    assert result.frame["msisdn"].tolist() == ["+33612345678", "+33612345681"]
    assert result.frame["row"].tolist() == [1, 4]
    reasons = {q["location"]: q["reason"] for q in result.quarantined}
    assert "has 3 fields but the header has 2" in reasons["line 3"]
    assert "line 4" in reasons  # the quoted field spanning two lines starts on line 4


def test_no_region_and_no_plus_is_quarantined_with_the_fix(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("msisdn\n0612345678\n+33612345678\n", encoding="utf-8")
    result = load(path)
    assert result.frame["msisdn"].tolist() == ["+33612345678"]
    assert "give a region" in result.quarantined[0]["reason"]


def test_unknown_region_cell_is_quarantined_with_the_fix(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("msisdn,region\n0612345678,France\n+33612345679,France\n", encoding="utf-8")
    result = load(path)
    assert result.frame["msisdn"].tolist() == ["+33612345679"]  # +CC needs no region
    assert "region 'FRANCE' is not a region code" in result.quarantined[0]["reason"]
    assert result.quarantined[0]["location"] == "line 2"


def test_bad_default_region_is_an_input_error():
    with pytest.raises(InputError, match="two-letter region code"):
        load(FIXTURES / "basic.csv", default_region="France")


def test_parquet_with_typed_consent(tmp_path):
    frame = pd.DataFrame({
        "MSISDN": ["+33612345678", "0612345678", "+254712345678", "12"],
        "consent_at": pd.to_datetime(["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", None, None], utc=True),
        "score": [1, 2, 3, 4],
    })
    path = tmp_path / "a.parquet"
    frame.to_parquet(path)
    result = load(path, default_region="FR")
    out = result.frame.set_index("msisdn")
    assert out.loc["+33612345678", "consent_at"] == pd.Timestamp("2026-02-01")
    assert json.loads(out.loc["+33612345678", "attributes"]) == {"score": 2}
    assert out.loc["+33612345678", "row"] == 2
    assert result.quarantined[0]["location"] == "row 4"
    assert json.loads(result.quarantined[0]["raw"])["MSISDN"] == "12"


def test_duckdb_table_and_quarantine_table():
    from smslab import store

    con = store.connect(":memory:")
    con.execute("CREATE TABLE people AS SELECT * FROM read_csv(?, all_varchar=true)", [str(FIXTURES / "basic.csv")])
    result = load("duckdb:people", default_region="FR", con=con)
    assert result.summary["loaded"] == 4 and result.summary["quarantined"] == 3
    rows = con.sql("SELECT source, location, reason FROM quarantine ORDER BY location").fetchall()
    assert [r[1] for r in rows] == ["row 5", "row 6", "row 7"]
    assert all(r[0] == "duckdb:people" for r in rows)
    with pytest.raises(InputError, match="no such table"):
        load("duckdb:nope", con=con)


def test_duckdb_table_needs_a_connection():
    with pytest.raises(InputError, match="needs a connection"):
        load("duckdb:people")


def test_small_blocks_give_the_same_result(monkeypatch):
    """Files are read in blocks; duplicates across blocks still collapse, rows keep their numbers."""
    import smslab.audience as audience

    whole = load(FIXTURES / "basic.csv", default_region="FR")
    monkeypatch.setattr(audience, "CHUNK_ROWS", 2)
    blocks = load(FIXTURES / "basic.csv", default_region="FR")
    pd.testing.assert_frame_equal(whole.frame, blocks.frame)
    assert whole.quarantined == blocks.quarantined and whole.summary == blocks.summary


def test_attributes_json_equals_json_dumps(tmp_path):
    values = ['Sm"ith', "back\\slash", "tab\there", "Léa 李 😀", "", "a\x01b"]
    path = tmp_path / "a.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        import csv

        writer = csv.writer(handle)
        writer.writerow(["msisdn", "name", 'ti"er'])
        for k, value in enumerate(values):
            writer.writerow([f"+3361234567{k}", value, "x"])
    frame = load(path).frame
    assert frame["attributes"].tolist() == [json.dumps({"name": v, 'ti"er': "x"}, ensure_ascii=False) for v in values]
