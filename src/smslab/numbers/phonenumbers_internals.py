"""Every use of phonenumbers' private API, in this one module.

Why: `smslab.numbers` decides most inputs in bulk by following `phonenumbers.parse`,
`number_type`, `time_zones_for_number` and `carrier.name_for_number` step by step over Arrow
arrays. To give exactly phonenumbers' answers it needs what phonenumbers keeps to itself: each
region's `PhoneMetadata` (patterns, possible lengths, prefixes, the order of the type checks),
the time-zone and carrier prefix tables (`phonenumbers.tzdata`, `phonenumbers.carrierdata`) and
a few of its underscore helpers (`_test_number_length`,
`_maybe_strip_national_prefix_carrier_code`, the first steps of `parse`). None of that is a
stable public API: any release may rename or change it. Keeping every such use here makes the
dependency one file to read when phonenumbers is upgraded; the rest of the package sees plain
values (`RegionMetadata`, dicts, tuples) and the public API.

The version the tests run against is pinned in pyproject.toml's dev extras,
``phonenumbers==9.0.43`` (users get any release allowed by the runtime bound,
``phonenumbers>=8.13.40``). tests/test_numbers.py compares the bulk path with `normalize_one`,
which uses the public API (but for `parse_error_message`); raise the pin only when those
comparisons pass against the new release. ``SMSLAB_NUMBERS_FAST=0`` turns the bulk path off;
`normalize_one` then needs only `parse_error_message` from here.

Example:
    >>> meta = region_metadata("FR", max_len=32)
    >>> meta.country_code, meta.international_prefix, meta.length_results[9]
    (33, '00', 0)
    >>> first_steps_of_parse("tel:+33-6-12-34-56-78;ext=9")
    '+33-6-12-34-56-78'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers import phonenumberutil as _pnu
from phonenumbers import timezone as _timezone

_T = phonenumbers.PhoneNumberType
#: (PhoneMetadata attribute, PhoneNumberType) of the rarer types, in _number_type_helper's order
_RARER_TYPES = (
    ("premium_rate", _T.PREMIUM_RATE),
    ("toll_free", _T.TOLL_FREE),
    ("shared_cost", _T.SHARED_COST),
    ("voip", _T.VOIP),
    ("personal_number", _T.PERSONAL_NUMBER),
    ("pager", _T.PAGER),
    ("uan", _T.UAN),
    ("voicemail", _T.VOICEMAIL),
)

#: what `timezone.time_zones_for_number` answers when it knows nothing: ('Etc/Unknown',)
UNKNOWN_TIME_ZONES: tuple[str, ...] = tuple(_timezone._UNKNOWN_TIME_ZONE_LIST)


@dataclass(frozen=True)
class NumberDesc:
    """A PhoneNumberDesc: its national-number pattern and possible lengths."""

    pattern: str | None
    possible_lengths: tuple[int, ...]


@dataclass(frozen=True)
class RegionMetadata:
    """What the bulk path reads from one region's PhoneMetadata (None: the desc is absent)."""

    code: str
    country_code: int
    international_prefix: str | None
    national_prefix_for_parsing: str | None
    has_transform_rule: bool
    general: NumberDesc | None
    fixed_line: NumberDesc | None
    mobile: NumberDesc | None
    rarer_types: tuple[tuple[NumberDesc | None, int], ...]  # in _number_type_helper's order
    same_mobile_and_fixed_line_pattern: bool
    leading_digits: str | None
    length_results: tuple[int, ...]  # _test_number_length of a k-digit number, k = 0 .. max_len - 1
    handle: Any  # the PhoneMetadata itself, only for `strip_national_prefix`


def _desc(desc: Any) -> NumberDesc | None:
    return None if desc is None else NumberDesc(desc.national_number_pattern, tuple(desc.possible_length))


def region_metadata(code: str, *, max_len: int) -> RegionMetadata:
    """One region's metadata as plain values; ValueError when phonenumbers has none."""
    md = (
        PhoneMetadata.metadata_for_region_or_calling_code(phonenumbers.country_code_for_region(code), code)
        if code != "001"
        else None
    )
    if md is None or md.country_code is None:
        raise ValueError(f"no phonenumbers metadata for region {code!r}")
    return RegionMetadata(
        code=code,
        country_code=md.country_code,
        international_prefix=md.international_prefix,
        national_prefix_for_parsing=md.national_prefix_for_parsing,
        has_transform_rule=bool(md.national_prefix_transform_rule),
        general=_desc(md.general_desc),
        fixed_line=_desc(md.fixed_line),
        mobile=_desc(md.mobile),
        rarer_types=tuple((_desc(getattr(md, attr)), value) for attr, value in _RARER_TYPES),
        same_mobile_and_fixed_line_pattern=bool(md.same_mobile_and_fixed_line_pattern),
        leading_digits=md.leading_digits,
        length_results=tuple(_pnu._test_number_length("0" * k, md) for k in range(max_len)),
        handle=md,
    )


def strip_national_prefix(number: str, meta: RegionMetadata) -> str:
    """phonenumbers' own national prefix (and carrier code) stripper, for transform-rule regions."""
    return _pnu._maybe_strip_national_prefix_carrier_code(number, meta.handle)[1]


def first_steps_of_parse(text: str) -> str | None:
    """`parse`'s first steps: the possible number without leading text or extension, or None
    when it is not a viable phone number."""
    core = _pnu._build_national_number_for_parsing(text)
    if not _pnu._is_viable_phone_number(core):
        return None
    _, core = _pnu._maybe_strip_extension(core)
    return core


def parse_error_message(exc: phonenumbers.NumberParseException) -> str:
    """The message of a parse error, without the error-type number `str(exc)` puts first."""
    return exc._msg


def country_level_time_zones(country_code: int) -> tuple[str, ...]:
    """The time zones of a whole calling code (what non-geographic number types get)."""
    return _timezone._country_level_time_zones_for_number(phonenumbers.PhoneNumber(country_code=country_code))


def time_zone_prefixes() -> tuple[dict[str, tuple[str, ...]], int]:
    """phonenumbers' time-zone table: {digits prefix (calling code first): zones}, longest prefix."""
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

    return TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX


def carrier_prefixes(lang: str = "en") -> tuple[dict[str, str], int]:
    """phonenumbers' carrier table for one language: {digits prefix: name}, longest prefix.

    `name_for_number` uses the longest prefix that has a name in the language (a prefix without
    one falls through to shorter prefixes), so prefixes without one are left out.
    """
    from phonenumbers.carrierdata import CARRIER_DATA, CARRIER_LONGEST_PREFIX

    named = {k: v.get(lang) for k, v in CARRIER_DATA.items()}
    return {k: v for k, v in named.items() if v is not None}, CARRIER_LONGEST_PREFIX
