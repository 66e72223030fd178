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
        "rows": 8,
        "loaded": 4,
        "duplicates": 1,
        "quarantined": 3,
        "by_country": {"FR": 2, "KE": 1, "US": 1},
        "by_number_type": {"mobile": 3, "toll_free": 1},
    }


def test_duplicates_keep_latest_consent_then_first_row(tmp_path):
    path = tmp_path / "dups.csv"
    path.write_text(
        "msisdn,consent_at,consent_source\n"
        "+33612345678,,none\n"  # no consent: loses to any dated row
        "0612345678,2026-01-01,old\n"
        "06.12.34.56.78,2026-05-01,new\n"  # latest: wins
        "+33 6 12 34 56 78,2026-02-01,mid\n"
        "+447400123456,,a\n"
        "07400 123456,,b\n",
        encoding="utf-8",
    )
    result = load(path, default_region="FR")
    frame = result.frame.set_index("msisdn")
    assert frame.loc["+33612345678", "consent_source"] == "new"
    assert frame.loc["+33612345678", "row"] == 3
    assert frame.loc["+447400123456", "consent_source"] == "a"  # tie without consent: first row
    assert result.summary["duplicates"] == 3
    # "07400 123456" read with FR as default is not a GB number: quarantined, not merged
    assert result.summary["quarantined"] == 1


@pytest.mark.parametrize(
    "name, expected",
    [
        ("semicolon.csv", "looks separated by semicolons"),
        ("no_msisdn.csv", "no 'msisdn' column; found 'phone', 'name'"),
        ("empty.csv", "the file is empty"),
        ("junk.csv", "binary file"),
        ("latin1.csv", "line 3: the file is not UTF-8"),
        ("does_not_exist.csv", "no such file"),
    ],
)
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
    frame = pd.DataFrame(
        {
            "MSISDN": ["+33612345678", "0612345678", "+254712345678", "12"],
            "consent_at": pd.to_datetime(["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", None, None], utc=True),
            "score": [1, 2, 3, 4],
        }
    )
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
    import smslab.audience.readers as audience

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


# -- the pyarrow.csv fast path and the csv-module path agree -----------------------------------


def _both(monkeypatch, path, **kwargs):
    """(fast-path outcome, csv-module outcome, whether the fast path read the file).

    An outcome is the AudienceLoad or the InputError's message."""
    import smslab.audience.readers as audience

    taken = []
    arrow_csv = audience._arrow_csv

    def spy(*args, **kw):
        got = arrow_csv(*args, **kw)
        taken.append(got is not None)
        return got

    def run():
        try:
            return load(path, **kwargs)
        except InputError as exc:
            return str(exc)

    monkeypatch.setattr(audience, "_arrow_csv", spy)
    fast = run()
    monkeypatch.setattr(audience, "FAST_CSV", False)
    slow = run()
    monkeypatch.setattr(audience, "FAST_CSV", True)
    return fast, slow, any(taken)


def _assert_same(fast, slow):
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
        return
    pd.testing.assert_frame_equal(fast.frame, slow.frame, check_exact=True)
    assert [list(z) for z in fast.frame["time_zones"]] == [list(z) for z in slow.frame["time_zones"]]
    assert fast.quarantined == slow.quarantined
    assert fast.summary == slow.summary


def _write(tmp_path, data: bytes, name="a.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


REGULAR = (
    "msisdn,region,consent_at,consent_source,first_name,note\n"
    '06 12 34 56 78,,2026-01-05T10:00:00Z,web,Ana,"gold, 2024"\n'
    '+33 6 12 34 56 78,,2026-03-01 09:30:00+01:00,store,"Ana ""B""",x\n'
    "0712 345 678,ke,2026-02-01,web,Wanjiru,\n"
    '+1 800 555 0199,,,,"Smith, John",""\n'
    "+33 7 12 34 56 78,,2026-01-01,web,Nobody,back\\slash\n"
    "0612345679,,yesterday,web,Bad Date,tab\there\n"
    "not a number,,,,Garbage,Léa 李 😀\n"
    '0033781234567,FR,2026-01-02T00:00:00Z,sms,Léa,"a"b\n'
    ' 0612345680 , FR ,  2026-04-01 ,  ,x"y,""\n'
)


@pytest.mark.parametrize("variant", ["plain", "bom", "crlf", "cr", "no_final_newline", "trailing_blank_lines", "tsv"])
def test_fast_path_reads_regular_files_like_the_csv_module(tmp_path, monkeypatch, variant):
    text = REGULAR
    name = "a.csv"
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    elif variant == "cr":
        text = text.replace("\n", "\r")
    elif variant == "no_final_newline":
        text = text.rstrip("\n")
    elif variant == "trailing_blank_lines":
        text = text + "\n\r\n\n"
    elif variant == "tsv":
        text = text.replace("\t", " ").replace(",", "\t")
        name = "a.tsv"
    data = text.encode("utf-8")
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    fast, slow, used = _both(monkeypatch, _write(tmp_path, data, name), default_region="FR")
    assert used, "this file is regular: the fast path should read it"
    _assert_same(fast, slow)
    assert len(slow.frame) == 5 and len(slow.quarantined) == 3  # the file is really read, not empty


@pytest.mark.parametrize(
    "data, expect",
    [
        # a quoted field over two lines: row numbers and line numbers part ways
        (b'msisdn,name\n+33612345678,Ana\n"+33 6 12\n34 56 80",Multi\n+33612345681,"x\ny"\n0612,Cy\n', "quarantined"),
        # blank lines in the middle
        (b"msisdn,name\n+33612345678,Ana\n\n\n0612,Bo\n+33612345681,Cy\n", "quarantined"),
        # CRLF with a lone CR making an extra (blank) line
        (b"msisdn,name\r\n+33612345678,Ana\r\r\n0612,Bo\r\n", "quarantined"),
        # ragged rows
        (b"msisdn,name\n+33612345678,Ana\n+33612345679,Bo,extra\n+33612345680\n0612,Cy\n", "quarantined"),
        # a NUL byte past the first 64 KiB
        (b"msisdn,name\n" + b"+33612345678,Ana\n" * 5000 + b"0612\x00,Bo\n+33612345681,Cy\n", "quarantined"),
        # a byte that is not UTF-8 in the middle of a big file: one error naming the line
        (
            b"msisdn,name\n" + b"+33612345678,Ana\n" * 30000 + b"+33612345679,L\xe9a\n" + b"+33612345680,Bo\n" * 30000,
            "line 30002: the file is not UTF-8",
        ),
        # a BOM twice: the second is part of the first column's name (pyarrow would drop it)
        (b"\xef\xbb\xbf\xef\xbb\xbfname,msisdn\nAna,+33612345678\nBo,0612\n", "quarantined"),
    ],
)
def test_irregular_files_fall_back_to_the_csv_module(tmp_path, monkeypatch, data, expect):
    fast, slow, used = _both(monkeypatch, _write(tmp_path, data), default_region="FR")
    assert not used, "the fast path must not read this file"
    _assert_same(fast, slow)
    if expect == "quarantined":
        assert slow.quarantined, "the file should have quarantined rows"
        assert all(key.startswith("\ufeff") or key == "name" for a in slow.frame["attributes"] for key in json.loads(a))
    else:
        assert expect in slow


def test_unterminated_quote_at_the_end(tmp_path, monkeypatch):
    """The csv module keeps the open field, line breaks included; pyarrow reads it the same
    (or, should it refuse, the csv module reads the file)."""
    fast, slow, _ = _both(
        monkeypatch, _write(tmp_path, b'msisdn,name\n+33612345678,Ana\n0612,"Bo\n\n'), default_region="FR"
    )
    _assert_same(fast, slow)
    assert slow.quarantined[0]["location"] == "line 3" and slow.quarantined[0]["raw"] == "0612,Bo\n\n"


def test_fields_over_the_csv_size_limit_fall_back(tmp_path, monkeypatch):
    import csv

    path = _write(tmp_path, b"msisdn,name\n+33612345678,Ana\n+33612345679," + b"x" * 300 + b"\n")
    old = csv.field_size_limit(200)
    try:
        fast, slow, used = _both(monkeypatch, path, default_region="FR")
    finally:
        csv.field_size_limit(old)
    assert not used
    assert "field larger than field limit (200)" in slow
    _assert_same(fast, slow)


def test_fast_path_blocks_and_duplicates_across_blocks(tmp_path, monkeypatch):
    """Rows keep their numbers and line numbers across blocks; duplicates in different blocks collapse."""
    import smslab.audience.readers as audience

    lines = ["msisdn,consent_at,consent_source,tier"]
    for k in range(40):
        lines.append(f'+3361234{k % 13:04d},{"" if k % 3 else f"2026-0{1 + k % 9}-01"},s{k},"t,{k}"')
        if k % 7 == 0:
            lines.append(f"bad{k},,,")
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    monkeypatch.setattr(audience, "CHUNK_ROWS", 4)
    fast, slow, used = _both(monkeypatch, path, default_region="FR")
    assert used
    _assert_same(fast, slow)
    assert slow.summary["duplicates"] == 27 and len(slow.quarantined) == 6
    assert slow.quarantined[1]["location"] == "line 11"


def test_fast_path_agrees_on_random_files(tmp_path, monkeypatch):
    """Random small files built from the characters that matter to CSV readers."""
    import random

    rng = random.Random(20261124)
    cells = [
        "+33612345678",
        "0612345679",
        "06 12 34 56 80",
        "+1 800 555 0199",
        "",
        " ",
        "x",
        "FR",
        "us",
        "2026-01-02",
        "2026-13-01",
        "a,b",
        '"',
        '""',
        '"q"',
        '"a""b"',
        "é",
        "\t",
        "\r",
        "\n",
        "\r\n",
        "\\",
        "\x01",
    ]
    used_fast = 0
    for case in range(150):
        width = rng.randint(1, 4)
        header = ["msisdn", "region", "consent_at", "note"][:width]
        out = [",".join(header)]
        for _ in range(rng.randint(0, 8)):
            n = width if rng.random() < 0.9 else rng.randint(1, width + 1)
            out.append(",".join("".join(rng.choice(cells) for _ in range(rng.randint(0, 2))) for _ in range(n)))
        ending = rng.choice(["\n", "\r\n", "\r"])
        text = ending.join(out) + rng.choice(["", ending, ending * 2])
        path = _write(tmp_path, text.encode("utf-8"), name=f"f{case}.csv")
        fast, slow, used = _both(monkeypatch, path, default_region="FR")
        used_fast += used
        try:
            _assert_same(fast, slow)
        except AssertionError as exc:
            raise AssertionError(f"fast and csv-module paths differ on {text!r}") from exc
    assert 30 < used_fast < 150  # both paths were exercised


def test_collapse_equals_a_full_sort(tmp_path):
    """_collapse picks the same row per number, in the same order, as sorting everything by
    (number, has consent first, latest consent, row) and keeping the first of each number."""
    import numpy as np

    from smslab.audience.loading import _collapse

    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame({c: pd.Series([None] * n, dtype=object) for c in FRAME_COLUMNS})
    frame["msisdn"] = pd.Series([f"+3361234{k:04d}" for k in rng.integers(0, 900, n)], dtype=object)
    frame["valid"] = True
    days = rng.integers(0, 6, n)  # few distinct dates: many ties
    frame["consent_at"] = (
        pd.Series(pd.to_datetime("2026-01-01") + pd.to_timedelta(days, unit="D"))
        .where(rng.random(n) < 0.7)
        .astype("datetime64[ns]")
    )
    frame["row"] = pd.Series(np.arange(1, n + 1) * 2, dtype="int64")
    frame["attributes"] = pd.Series([str(k) for k in range(n)], dtype=object)
    parts = [frame.iloc[i : i + 700].reset_index(drop=True) for i in range(0, n, 700)]

    whole = pd.concat(parts, ignore_index=True)
    order = whole.assign(_has=whole["consent_at"].notna()).sort_values(
        ["msisdn", "_has", "consent_at", "row"], ascending=[True, False, False, True], kind="stable"
    )
    expected = whole.loc[order.drop_duplicates("msisdn", keep="first").index]
    expected = expected.sort_values("row", kind="stable").reset_index(drop=True)[FRAME_COLUMNS]

    got = _collapse(parts)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert 0 < len(got) < n and got["consent_at"].isna().any()
