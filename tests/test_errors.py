"""InputError says where: `path`, `line` and `column` as fields, read by code, not only by people."""

import pytest

from smslab.errors import InputError, SmslabError


def test_the_fields_come_from_a_real_error_of_the_price_sheet_reader(tmp_path):
    from smslab.pricing import load_prices

    sheet = tmp_path / "prices.csv"
    header = "country,sender_type,price_per_segment,currency"
    sheet.write_text(f"{header}\nFR,short_code,0.07,EUR\nFR,long_code,cheap,EUR\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_prices(sheet)
    error = caught.value
    assert (error.path, error.line, error.column) == (str(sheet), 3, "price_per_segment"), str(error)


def test_the_fields_come_from_a_real_error_of_the_audience_reader(tmp_path):
    from smslab.audience import load

    audience = tmp_path / "audience.csv"
    audience.write_bytes(b"msisdn,consent_at\n+33612345678,2026-01-01\n+3361234567\xe9,2026-01-01\n")
    with pytest.raises(InputError) as caught:
        load(audience)
    assert caught.value.path == str(audience) and caught.value.line == 3 and caught.value.column is None


@pytest.mark.parametrize(
    ("message", "place"),
    [
        ("a.csv: line 7: bad quoting", ("a.csv", 7, None)),
        ("a.csv: line 2, column 4: not a number", ("a.csv", 2, 4)),
        ("x/prices.csv: row 1 (line 2), column 'currency': expected a 3-letter code", ("x/prices.csv", 2, "currency")),
        ("missing.csv: no such file", (None, None, None)),  # no place written: nothing invented
        ("default_region 'Q': expected a region code", (None, None, None)),
    ],
)
def test_the_place_is_read_from_the_usual_message_form_and_nothing_else(message, place):
    error = InputError(message)
    assert (error.path, error.line, error.column) == place
    assert str(error) == message and isinstance(error, SmslabError)


def test_explicit_fields_win_over_the_message():
    error = InputError("audience.csv: line 3: empty", path="/abs/audience.csv", line=4, column="msisdn")
    assert (error.path, error.line, error.column) == ("/abs/audience.csv", 4, "msisdn")
