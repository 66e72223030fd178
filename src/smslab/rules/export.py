"""The rules dataset as plain JSON-ready dicts (what `smslab rules --json` prints).

Example:
    >>> from smslab.rules import load
    >>> [c["country"] for c in as_json_list(load(), "fr")]
    ['FR']
"""
from __future__ import annotations

from typing import Any

from smslab.errors import InputError
from smslab.rules.loader import RuleSet


def as_json(ruleset: RuleSet, cc: str) -> dict[str, Any]:
    """One country: every field; `sources` = the URLs, `source_refs` = the keyed details."""
    country = ruleset.country(cc)
    data = country.model_dump(mode="json")
    data["source_refs"] = data.pop("sources")
    data["sources"] = country.source_urls()
    data["origin"] = ruleset.files.get(country.country)
    return data


def as_json_list(ruleset: RuleSet, cc: str | None = None) -> list[dict[str, Any]]:
    """All countries, or one (an InputError if the dataset has no such country)."""
    if cc is not None:
        if cc.upper() not in ruleset:
            raise InputError(f"no rules for country {cc!r}; known: {', '.join(ruleset.countries())}")
        return [as_json(ruleset, cc)]
    return [as_json(ruleset, c) for c in ruleset.countries()]
