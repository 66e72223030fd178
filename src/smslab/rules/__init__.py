"""The country rules dataset: load, validate, derive, override, audit, and the sender-type questions.

Schema-2 files hold what each source claims (docs/rules-format.md); `derive` computes the
effective rule in force on a day; `load()` gives today's, `load().at(moment)` another day's.

Example:
    >>> from smslab import rules
    >>> rs = rules.load()
    >>> rules.sender_allowed("KE", "alphanumeric", purpose="marketing", two_way=True)[0]
    False
    >>> rules.subdivision_for_number("+13055550123")
    'US-FL'
"""

from smslab.rules.audit import audit
from smslab.rules.claims import RulesFile, check_files, parse_file, problems
from smslab.rules.derive import derive
from smslab.rules.loader import RuleSet, apply_override, day_of, load, merge, rules_dir, validate_country
from smslab.rules.placement import npa_table, subdivision_for_number, subdivisions_for_numbers
from smslab.rules.schema import CATEGORIES, DAYS, PURPOSES, SENDER_TYPES, Country
from smslab.rules.senders import lead_time_weeks, sender_allowed

__all__ = [
    "CATEGORIES",
    "DAYS",
    "PURPOSES",
    "SENDER_TYPES",
    "Country",
    "RuleSet",
    "RulesFile",
    "apply_override",
    "audit",
    "check_files",
    "day_of",
    "derive",
    "lead_time_weeks",
    "load",
    "merge",
    "npa_table",
    "parse_file",
    "problems",
    "rules_dir",
    "sender_allowed",
    "subdivision_for_number",
    "subdivisions_for_numbers",
    "validate_country",
]
