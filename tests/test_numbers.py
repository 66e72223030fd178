"""`normalize` must give exactly phonenumbers' answers (`normalize_one`) for every input."""

from __future__ import annotations

import json

import pandas as pd
import phonenumbers
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

from smslab.errors import InputError
from smslab.numbers import COLUMNS, normalize, normalize_file, normalize_one

# the metadata changes with each release; these expectations are for this version
PINNED = phonenumbers.__version__ == "9.0.43"


def _rows(frame: pd.DataFrame) -> list[dict]:
    out = []
    for record in frame.to_dict("records"):
        record = {c: record[c] for c in COLUMNS}
        record["valid"] = bool(record["valid"])
        record["time_zones"] = list(record["time_zones"])
        out.append(record)
    return out


def assert_same_as_phonenumbers(values: list, regions) -> pd.DataFrame:
    """normalize() row by row equals normalize_one() (phonenumbers itself)."""
    frame = normalize(values, default_region=regions)
    assert list(frame.columns) == COLUMNS and len(frame) == len(values)
    per_row = list(regions) if isinstance(regions, (list, pd.Series)) else [regions] * len(values)
    for value, region, got in zip(values, per_row, _rows(frame), strict=False):
        region = None if region is None or (isinstance(region, float) and pd.isna(region)) else str(region).upper()
        assert got == normalize_one(value, region), (value, region)
    return frame


# -- hand-picked inputs (shared/reference/wire-formats.md §4) --------------------------------

TRICKY = [
    ("0612345678", "FR"),
    ("0033612345678", "FR"),
    ("07 81 23 45 67", "FR"),
    ("+33 7 12 34 56 78", None),
    ("+91 98765 43210", None),
    ("09876543210", "IN"),
    ("9876543210", "IN"),
    ("+91 98765 4321", None),
    ("+254 712 345678", None),
    ("0712345678", "KE"),
    ("0712 345 678", "KE"),
    ("+254 110 123456", None),
    ("+254 712 34567", None),
    ("+1 800 555 0199", None),
    ("1-800-FLOWERS", "US"),
    ("(800) 356-9377", "US"),
    ("+1 833 555 0100", None),
    ("+1 (888) 555-0100", None),
    ("+1 555 555 0100", None),
    ("555-0123", "US"),
    ("+1 415 555 267", None),
    ("+4420836611771", None),
    ("+1 650-253-0000 ext. 123", None),
    ("(212) 555-0100 #42", "US"),
    ("+12125550100;ext=42", None),
    ("tel:+1-212-555-0100;ext=42", None),
    ("+1 212 555 0100 extension 42", None),
    ("+442083661177 x1234", None),
    ("+44 (0) 20 8366 1177", None),
    ("０２０ ８３６６ １１７７", "GB"),
    ("+٩٧١٥٠١٢٣٤٥٦٧", None),
    ("011 44 20 8366 1177", "US"),
    ("00 44 20 8366 1177", "FR"),
    ("07911 123456", "GB"),
    ("+447911123456", None),
    ("07400 123456", "GB"),
    ("+44 7700 900123", None),
    ("0800 123 4567", "GB"),
    ("+39 06 1234 5678", None),
    ("+49 1512 3456789", None),
    ("015123456789", "DE"),
    ("+40721234567", None),
    ("+1 876 555 0100", None),
    ("0612345678", None),
    ("+999 1234567", None),
    ("+001 2345678", None),
    ("abc", None),
    ("+", None),
    ("", "FR"),
    (None, "FR"),
    ("61007", "GB"),
    ("999", "GB"),
    ("33612345678", "FR"),
    ("+33 06 12 34 56 78", None),
    ("0", "FR"),
    ("12", "FR"),
    ("1 2", "FR"),
    ("+33", None),
    ("+3361", None),
    ("00", "FR"),
    ("000612345678", "FR"),
    ("0054 9 11 2345 6789", "FR"),
    ("+54 9 11 2345-6789", None),
    ("011 15 2345-6789", "AR"),
    ("(11) 96123-4567", "BR"),
    ("0 21 11 96123 4567", "BR"),
    ("03-1234-5678", "JP"),
    ("090-1234-5678", "JP"),
    ("8 (912) 345-67-89", "RU"),
    ("+7 701 123 4567", None),
    ("01481 256789", "GG"),
    ("+39 3123456789", None),
    ("tel: 0612345678", "FR"),
    ("Tel.: +33 6 12 34 56 78", None),
    ("+33-6-12-34-56-78.", None),
    ("((06)) 12..34--56 78", "FR"),
    ("+33 6 12 34 56 78 / x 12", None),
    ("６１２３４５６７８", "FR"),
    ("+800 1234 5678", None),
    ("+882 1234 5678", None),
    ("0612345678", "fr"),
    ("+1 (242) 359 1234", None),
    ("1 242 359 1234", "US"),
    ("2423591234", "BS"),
    ("+262 692 12 34 56", None),
    ("+590 690 00 12 34", None),
    ("+358 18 1234567", None),
    ("0034 612 34 56 78", "GB"),
    ("+33612345678", "ZZ"),
    ("0612345678", "001"),
    ("1" * 250, "FR"),
    ("1" * 251, "FR"),
    ("+33 6" + " " * 246 + "12345678", None),
]


def test_tricky_inputs_match_phonenumbers():
    values = [v for v, _ in TRICKY]
    regions = pd.Series([r for _, r in TRICKY], dtype=object)
    assert_same_as_phonenumbers(values, regions)


def test_tricky_inputs_known_answers():
    assert PINNED, "the dev extra pins phonenumbers 9.0.43, whose answers this test spells out"
    frame = normalize(
        [
            "0612345678",
            "+33 7 12 34 56 78",
            "+91 98765 43210",
            "07911 123456",
            "+1 650-253-0000 ext. 123",
            "０２０ ８３６６ １１７７",
            "+44 7700 900123",
            "abc",
        ],
        default_region=pd.Series(["FR", None, None, "GB", None, "GB", None, None], dtype=object),
    )
    rows = frame.to_dict("records")
    assert rows[0]["e164"] == "+33612345678" and rows[0]["carrier"] == "SFR" and rows[0]["number_type"] == "mobile"
    assert rows[1]["e164"] == "+33712345678" and not rows[1]["valid"] and rows[1]["time_zones"] == ["Etc/Unknown"]
    assert rows[2]["time_zones"] == ["Asia/Calcutta"] and rows[2]["carrier"] == "Airtel"
    assert rows[3]["region"] == "GG" and rows[3]["carrier"] == "JT"
    assert rows[4]["e164"] == "+16502530000" and rows[4]["time_zones"] == ["America/Los_Angeles"]
    assert rows[5]["e164"] == "+442083661177" and rows[5]["number_type"] == "fixed_line"
    assert not rows[6]["valid"]
    assert rows[7]["e164"] is None and rows[7]["error"].startswith("unparseable")


def test_order_duplicates_and_odd_values():
    values = ["+33612345678", None, "0612345678", float("nan"), "+33612345678", 33612345678, "0612345678", ""]
    regions = pd.Series(["FR", "FR", "FR", None, "FR", "FR", "KE", None], dtype=object)
    frame = assert_same_as_phonenumbers(values, regions)
    assert frame["input"].tolist()[:3] == values[:3]
    assert frame.loc[2, "e164"] == "+33612345678" and frame.loc[6, "region"] is not None


def test_empty_and_single_region():
    assert list(normalize([]).columns) == COLUMNS
    frame = assert_same_as_phonenumbers(["0612345678", "+254712345678", "07 81 23 45 67"], "FR")
    assert frame["valid"].tolist() == [True, True, True]


def test_bulk_path_and_fallback_agree(monkeypatch):
    """The same inputs answered with the bulk path switched off (every row through phonenumbers)."""
    values = ["+33 6 12 34 56 78", "0612345678", "00 44 20 8366 1177", "+1 800 555 0199", "07911 123456"]
    fast = normalize(values, default_region="GB")
    monkeypatch.setenv("SMSLAB_NUMBERS_FAST", "0")
    slow = normalize(values, default_region="GB")
    assert _rows(fast) == _rows(slow)


# -- property-based: generated numbers in many regions and formats ---------------------------

REGIONS = [
    "FR",
    "US",
    "GB",
    "DE",
    "IN",
    "KE",
    "BR",
    "IT",
    "ES",
    "NG",
    "ZA",
    "MX",
    "CA",
    "AU",
    "JP",
    "RO",
    "AR",
    "GG",
    "JE",
    "IM",
    "JM",
    "BS",
    "RU",
    "KZ",
    "AE",
    "CN",
    "SG",
    "NL",
    "BE",
    "CH",
    "PL",
    "SE",
    "NO",
    "FI",
    "AX",
    "RE",
    "YT",
    "GP",
    "MA",
    "EG",
    "TR",
    "PH",
    "ID",
    "CO",
    "CL",
    "PE",
    "NZ",
    "IE",
    "PT",
    "SM",
    "VA",
]
KINDS = [T.MOBILE, T.FIXED_LINE, T.TOLL_FREE, T.PREMIUM_RATE, T.VOIP, T.SHARED_COST, T.UAN, T.PERSONAL_NUMBER]
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
VANITY = str.maketrans("23456789", "ADGJMPTW")


@st.composite
def phone_text(draw) -> tuple[str, str | None]:
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from(KINDS))
    example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
    nsn = phonenumbers.national_significant_number(example)
    keep = draw(st.integers(0, len(nsn)))
    tail = draw(st.text("0123456789", min_size=max(0, len(nsn) - keep - 1), max_size=len(nsn) - keep + 1))
    digits = nsn[:keep] + tail
    cc = str(example.country_code)
    style = draw(
        st.sampled_from(
            [
                "e164",
                "intl",
                "national",
                "idd",
                "bare",
                "cc_no_plus",
                "rfc3966",
                "ext",
                "fullwidth",
                "vanity",
                "junk_prefix",
                "separators",
            ]
        )
    )
    try:
        num = phonenumbers.parse("+" + cc + digits)
    except phonenumbers.NumberParseException:
        num = None
    if num is not None and style in ("e164", "intl", "national", "rfc3966", "idd"):
        if style == "idd":
            text = phonenumbers.format_out_of_country_calling_number(num, draw(st.sampled_from(REGIONS)))
        else:
            text = phonenumbers.format_number(
                num, {"e164": F.E164, "intl": F.INTERNATIONAL, "national": F.NATIONAL, "rfc3966": F.RFC3966}[style]
            )
    elif style == "cc_no_plus":
        text = cc + digits
    elif style == "ext":
        text = (
            "+"
            + cc
            + " "
            + digits
            + draw(st.sampled_from([" ext. ", " x", " #", ";ext=", " extension ", ",,"]))
            + draw(st.text("0123456789", min_size=1, max_size=5))
        )
    elif style == "fullwidth":
        text = (draw(st.sampled_from(["", "+" + cc + " ", "0"])) + digits).translate(FULLWIDTH)
    elif style == "vanity":
        text = draw(st.sampled_from(["", "+" + cc + " "])) + digits[:3] + digits[3:].translate(VANITY)
    elif style == "junk_prefix":
        text = (
            draw(st.sampled_from(["tel:", "Tel: ", "abc", "mob ", "(", "-"]))
            + draw(st.sampled_from(["+" + cc, "0", ""]))
            + digits
        )
    elif style == "separators":
        sep = draw(st.sampled_from([" ", ".", "-", "(", ")", "  ", ""]))
        text = (
            draw(st.sampled_from(["+" + cc, "00" + cc, "0", ""]))
            + sep
            + sep.join(digits[i : i + 3] for i in range(0, len(digits), 3))
        )
    else:
        text = draw(st.sampled_from(["0", ""])) + digits
    default = draw(st.sampled_from([None, region, region, draw(st.sampled_from(REGIONS))]))
    return text, default


GARBAGE = st.text(alphabet="0123456789 +-().x#;,/:abcextTEL０１２٣", max_size=24)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(phone_text(), min_size=1, max_size=40))
def test_generated_numbers_match_phonenumbers(pairs):
    assert_same_as_phonenumbers([p[0] for p in pairs], pd.Series([p[1] for p in pairs], dtype=object))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(GARBAGE, st.sampled_from([None, "FR", "US", "GB", "AR", "BR", "JP", "IN"])), min_size=1, max_size=30
    )
)
def test_garbage_matches_phonenumbers(pairs):
    assert_same_as_phonenumbers([p[0] for p in pairs], pd.Series([p[1] for p in pairs], dtype=object))


@settings(max_examples=25, deadline=None)
@given(st.lists(phone_text(), min_size=1, max_size=30), st.sampled_from(REGIONS))
def test_single_default_region_matches_phonenumbers(pairs, region):
    assert_same_as_phonenumbers([p[0] for p in pairs], region)


# -- files and the CLI ---------------------------------------------------------------------


def test_normalize_file_csv_and_parquet(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,phone\n1,06 12 34 56 78\n2,+254712345678\n3,nope\n", encoding="utf-8")
    assert normalize_file(src, column="phone", region="FR") == {"rows": 3, "valid": 2, "invalid": 1}
    out_csv = tmp_path / "out.csv"
    normalize_file(src, column="phone", region="FR", out=out_csv)
    written = pd.read_csv(out_csv, dtype=str, keep_default_na=False)
    assert written["e164"].tolist() == ["+33612345678", "+254712345678", ""]
    assert written["time_zones"].tolist()[0] == "Europe/Paris"
    out_pq = tmp_path / "out.parquet"
    normalize_file(src, column="phone", region="fr", out=out_pq)
    back = pd.read_parquet(out_pq)
    assert back["carrier"].tolist()[:2] == ["SFR", "Safaricom"]
    assert normalize_file(out_pq, column="phone", region="FR") == {"rows": 3, "valid": 2, "invalid": 1}


def test_normalize_file_keeps_the_input_columns_and_never_overwrites_the_input(tmp_path):
    src = tmp_path / "audience.csv"
    original = "msisdn,consent_at,consent_source,region\n06 12 34 56 78,2026-11-01T10:00:00Z,web form,FR\nnope,,,\n"
    src.write_text(original, encoding="utf-8")
    with pytest.raises(InputError, match=r"--out .*audience.csv: is the input file; .*audience-normalized.csv"):
        normalize_file(src, column="msisdn", region="FR", out=src)
    with pytest.raises(InputError, match="is the input file"):
        normalize_file(src, column="msisdn", region="FR", out=tmp_path / "." / "audience.csv")
    assert src.read_text(encoding="utf-8") == original  # untouched
    out = tmp_path / "clean.csv"
    normalize_file(src, column="msisdn", region="FR", out=out)
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(written.columns[:4]) == ["msisdn", "consent_at", "consent_source", "region"]
    assert written["msisdn"].tolist() == ["06 12 34 56 78", "nope"]  # as read
    assert written["consent_at"].tolist() == ["2026-11-01T10:00:00Z", ""]
    assert written["consent_source"].tolist() == ["web form", ""]
    assert written["e164"].tolist() == ["+33612345678", ""]
    assert written["region_normalized"].tolist() == ["FR", ""]  # no clash with the input's region
    out_pq = tmp_path / "clean.parquet"
    normalize_file(out, column="msisdn", region="FR", out=out_pq)
    assert pd.read_parquet(out_pq)["consent_source"].tolist() == ["web form", ""]


def test_normalize_file_errors(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,phone\n1,0612345678\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column 'msisdn'; found 'id', 'phone'"):
        normalize_file(src, column="msisdn")
    with pytest.raises(InputError, match="no such file"):
        normalize_file(tmp_path / "missing.csv", column="phone")
    with pytest.raises(InputError, match="two-letter region"):
        normalize_file(src, column="phone", region="France")
    with pytest.raises(InputError, match=r"\.csv or \.parquet"):
        normalize_file(src, column="phone", out=tmp_path / "x.xlsx")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"phone\n+33612345678\nL\xe9a\n")
    with pytest.raises(InputError, match="not UTF-8"):
        normalize_file(latin, column="phone")


def test_cli_numbers_json(tmp_path):
    from smslab.cli import cli

    src = tmp_path / "in.csv"
    src.write_text("msisdn\n0612345678\n+447400123456\n12\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["numbers", str(src), "--column", "msisdn", "--region", "FR", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"rows": 3, "valid": 2, "invalid": 1}
    bad = CliRunner().invoke(cli, ["numbers", str(src), "--column", "phone", "--json"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_numbers_cli_names_a_semicolon_separated_file(tmp_path):
    from click.testing import CliRunner

    from smslab.cli import cli

    sheet = tmp_path / "export.csv"
    sheet.write_text("phone;name\n0612345678;Ana\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["numbers", str(sheet), "--column", "phone", "--json"])
    assert result.exit_code == 2
    assert "export.csv" in result.output and "separated by ';'" in result.output
    assert "Traceback" not in result.output


def test_the_fast_path_decides_the_common_shapes_itself(monkeypatch):
    """Turning the fast path off must be visible: with it, phonenumbers' per-row parse
    (`normalize_one`) is called for none of these ordinary numbers; without it, for each."""
    import smslab.numbers.bulk as numbers_mod

    values = (
        [f"+3361234{i:04d}" for i in range(200)]
        + [f"06 12 35 {i // 100:02d} {i % 100:02d}" for i in range(200)]
        + [f"+1 415 555 {i:04d}" for i in range(100)]
    )
    regions = ["FR"] * 400 + [None] * 100
    real, calls = numbers_mod.normalize_one, []

    def counting(value, region=None):
        calls.append(value)
        return real(value, region)

    monkeypatch.setattr(numbers_mod, "normalize_one", counting)
    fast = numbers_mod.decide(values, regions)
    assert calls == []  # every row decided by the vectorised path
    assert fast["e164"][0] == "+33612340000" and fast["e164"][200] == "+33612350000" and fast["valid"].all()
    monkeypatch.setenv("SMSLAB_NUMBERS_FAST", "0")
    slow = numbers_mod.decide(values, regions)
    assert len(calls) == len(values)  # the reference path, row by row
    for key in ("e164", "region", "valid", "number_type", "carrier"):
        assert list(fast[key]) == list(slow[key]), key  # and the same answers


def test_phonenumbers_private_api_is_used_in_one_module_that_names_the_pinned_version():
    """Underscore helpers, PhoneMetadata and the tzdata/carrierdata tables appear only in
    numbers/phonenumbers_internals.py, whose docstring names the release pinned in pyproject."""
    import re
    from pathlib import Path

    import smslab
    from smslab.numbers import phonenumbers_internals

    private = re.compile(
        r"phonenumberutil|PhoneMetadata|\btzdata\b|\bcarrierdata\b|\b_pnu\b|_msg\b"
        r"|\b(?:phonenumbers|timezone|carrier|pn_timezone)\._\w"
    )
    root = Path(smslab.__file__).parent
    users = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if private.search(re.sub(r'"""[\s\S]*?"""', "", p.read_text(encoding="utf-8")))
    )
    assert users == ["numbers/phonenumbers_internals.py"]
    pyproject = (root.parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    [pin] = re.findall(r'"phonenumbers==([0-9.]+)"', pyproject)
    assert f"phonenumbers=={pin}" in (phonenumbers_internals.__doc__ or "")


def test_the_package_keeps_its_public_api():
    import smslab.numbers as numbers_pkg

    assert numbers_pkg.__all__ == ["COLUMNS", "normalize", "normalize_file", "normalize_one"]
    assert numbers_pkg.normalize(["+254 712 345678"]).loc[0, "carrier"] == "Safaricom"
