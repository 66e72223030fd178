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


def _sender_cell(s: Any) -> str:
    if s.available is False:
        return "–"
    flags = [("M", s.marketing), ("T", s.transactional), ("2W", s.two_way)]
    text = "/".join(f"{k}{'' if v else '?' if v is None else '✗'}" for k, v in flags)
    lead = f" ({s.lead_time_weeks:g} wk)" if s.lead_time_weeks is not None else ""
    return ("" if s.available else "? ") + text + lead


def summary_table(ruleset: RuleSet) -> str:
    """The per-country summary of docs/rules.md (markdown), for the day `ruleset` is in force.

    M/T/2W = marketing/transactional/two-way allowed; `?` = unknown (treated as not allowed),
    `✗` = a source says no; `–` = the carriers do not support the sender type.

    Example:
        >>> from smslab.rules import load
        >>> summary_table(load().at("2026-12-06")).splitlines()[0].startswith("| CC |")
        True
    """
    from smslab.rules.defaults import describe_window
    from smslab.rules.schema import SENDER_TYPES

    lines = [
        "| CC | short code | long code | toll-free | alphanumeric | marketing hours (local); holidays | "
        "consent | states | sources (law/reg/op/ind/prov/vendor) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cc in ruleset.countries():
        c = ruleset.country(cc)
        qh = c.quiet_hours
        hours = describe_window(qh.allowed) if qh.allowed is not None else "unknown (default applies)"
        holidays = {"excluded": "not on holidays", "allowed": "holidays allowed", None: "holidays unknown"}[qh.holidays]
        kinds = [
            sum(1 for s in c.sources.values() if s.kind == k)
            for k in ("law", "regulator", "operator", "industry", "provider", "vendor")
        ]
        states = ", ".join(code.split("-", 1)[1] for code in sorted(c.subdivisions or {})) or "–"
        consent = {"required": "required", "not_required": "not required", None: "unknown"}[c.consent.marketing]
        cells = [
            cc,
            *[_sender_cell(c.senders[t]) for t in SENDER_TYPES],
            f"{hours}; {holidays}",
            consent,
            states,
            "/".join(map(str, kinds)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
