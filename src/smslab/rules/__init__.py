"""The country rules dataset: load, validate, override, and the sender-type questions.

Example:
    >>> from smslab import rules
    >>> rs = rules.load()
    >>> rules.sender_allowed("KE", "alphanumeric", purpose="marketing", two_way=True)[0]
    False
"""
from smslab.rules.loader import RuleSet, load, merge, rules_dir, validate_country
from smslab.rules.schema import CATEGORIES, DAYS, PURPOSES, SENDER_TYPES, Country
from smslab.rules.senders import lead_time_weeks, sender_allowed

__all__ = [
    "CATEGORIES", "DAYS", "PURPOSES", "SENDER_TYPES", "Country", "RuleSet", "lead_time_weeks",
    "load", "merge", "rules_dir", "sender_allowed", "validate_country",
]
