"""+1 numbers placed in their US state or Canadian province by area code (libphonenumber data)."""

from __future__ import annotations

import pytest

from smslab.rules.placement import (
    npa_table,
    subdivision_for_description,
    subdivision_for_number,
    subdivisions_for_numbers,
)


@pytest.mark.parametrize(
    "number,expected",
    [
        ("+13055550123", "US-FL"),  # Miami
        ("+14165550123", "CA-ON"),  # Toronto
        ("+15145550123", "CA-QC"),  # Montréal
        ("+12125550123", "US-NY"),  # "New York, NY"
        ("+12065550123", "US-WA"),  # "Washington State"
        ("+12025550123", "US-DC"),  # "Washington D.C."
        ("+18005550123", None),  # toll-free
        ("+19025550123", None),  # shared by Nova Scotia and Prince Edward Island
        ("+17875550123", None),  # Puerto Rico is a country of its own in the data
        ("+33612345678", None),  # not +1
        ("", None),
        (None, None),
    ],
)
def test_area_code_placement(number, expected):
    assert subdivision_for_number(number) == expected


def test_descriptions():
    assert subdivision_for_description("Toronto, ON") == "CA-ON"
    assert subdivision_for_description("San Antonio, TX") == "US-TX"
    assert subdivision_for_description("Jamaica") is None


def test_table_covers_the_states_and_provinces():
    table = npa_table()
    assert len({v for v in table.values() if v.startswith("US-")}) == 51  # 50 states and DC
    assert {"CA-ON", "CA-QC", "CA-BC", "CA-AB"} <= set(table.values())
    assert "800" not in table and "888" not in table


def test_vectorised_matches_one_by_one():
    numbers = ["+13055550123", "+14165550123", "+18005550123", "+33612345678", None, "+13055550199"]
    assert list(subdivisions_for_numbers(numbers)) == [subdivision_for_number(n) for n in numbers]
    assert len(subdivisions_for_numbers([])) == 0
