"""The sender-type questions other modules ask: fail closed."""

import pytest

from smslab import rules


@pytest.mark.parametrize(
    "cc,sender_type,purpose,two_way,expected",
    [
        ("FR", "short_code", "marketing", True, True),
        ("FR", "long_code", "marketing", False, False),  # Twilio: A2P must use alphanumeric
        ("IN", "long_code", "marketing", False, False),  # India: no marketing from a VLN
        ("IN", "short_code", "marketing", False, True),
        ("KE", "alphanumeric", "marketing", False, True),
        ("KE", "alphanumeric", "marketing", True, False),  # an alphanumeric sender cannot take replies
        ("KE", "long_code", "transactional", False, False),
        ("US", "alphanumeric", "transactional", False, False),
        ("US", "short_code", "marketing", True, True),
        ("GB", "alphanumeric", "marketing", False, True),
        ("GB", "toll_free", "marketing", False, False),  # unknown: fail closed
    ],
)
def test_sender_allowed(cc, sender_type, purpose, two_way, expected):
    allowed, reason = rules.sender_allowed(cc, sender_type, purpose=purpose, two_way=two_way)
    assert allowed is expected, reason
    assert cc in reason


def test_unknown_inputs_fail_closed():
    assert rules.sender_allowed("XX", "short_code", purpose="marketing", two_way=False)[0] is False
    assert rules.sender_allowed("FR", "pigeon", purpose="marketing", two_way=False)[0] is False
    assert rules.sender_allowed("FR", "short_code", purpose="spam", two_way=False)[0] is False


def test_unknown_fact_reason_says_unknown():
    allowed, reason = rules.sender_allowed("GB", "toll_free", purpose="marketing", two_way=False)
    assert not allowed and "unknown" in reason


def test_lead_time_weeks():
    assert rules.lead_time_weeks("US", "short_code") == 12
    assert rules.lead_time_weeks("KE", "alphanumeric") == 4
    assert rules.lead_time_weeks("US", "alphanumeric") is None  # not available
    assert rules.lead_time_weeks("XX", "short_code") is None


def test_ruleset_access():
    rs = rules.load()
    assert {"FR", "US", "KE", "IN", "GB"} <= set(rs.countries())
    assert rs.country("fr").country == "FR"
    assert "FR" in rs and "XX" not in rs
    with pytest.raises(KeyError):
        rs.country("XX")
