"""How well each effective fact is supported: its sources, their kind and age, and the gaps.

For every schema-2 country: each fact in force (national, and per subdivision) with the sources
of its claims (key, kind, publisher, URL, days since checked and since published), the facts
that rest on a single source, the facts whose most recently checked source was checked more
than a year ago (`stale`), and the facts of the table no claim in force supports (`unknown`).
What `smslab rules --audit [CC] [--json]` prints.

Example:
    >>> from smslab.rules import load
    >>> rs = load(directory="tests/fixtures/rules_v2")
    >>> report = audit(rs, "FR")[0]
    >>> report["single_source"][:2], "limits.max_segments" in report["unknown"]
    (['caps', 'consent.form'], True)
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from smslab.errors import InputError
from smslab.rules.facts import all_facts
from smslab.rules.loader import RuleSet, day_of, load
from smslab.rules.schema import Country

STALE_DAYS = 365


def effective_value(country: Country, fact: str) -> Any:
    """The effective value of a fact key, as JSON-ready data (None = unknown).

    Example:
        >>> fr = load(directory="tests/fixtures/rules_v2").country("FR")
        >>> effective_value(fr, "senders.short_code.lead_time_weeks")
        17.4
    """
    parts = fact.split(".")
    if parts[0] == "senders":
        value = getattr(country.senders[parts[1]], parts[2])  # type: ignore[index]
    elif fact.startswith("sender_id."):
        value = [r for r in country.sender_id_rules or [] if r.sender_type == parts[1]] or None
    else:
        where = {
            "opt_out.wording": country.opt_out.wordings or None,
            "caps": country.caps,
            "message.required_elements": country.required_elements,
            "message_classes": country.message_classes,
            "penalties": country.penalties.items or None,
            "registration": country.registrations,
        }
        value = where[fact] if fact in where else getattr(getattr(country, parts[0]), parts[1])
    if isinstance(value, list):
        return [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
    return value


def _source_row(country: Country, key: str, day: date) -> dict[str, Any]:
    src = country.sources[key]
    return {
        "key": key,
        "kind": src.kind,
        "publisher": src.publisher,
        "url": src.url,
        "checked_age_days": (day - src.checked).days,
        "published_age_days": (day - src.published).days if src.published else None,
    }


def audit_country(ruleset: RuleSet, cc: str) -> dict[str, Any]:
    """The audit of one country (see the module docstring)."""
    country = ruleset.country(cc)
    day = ruleset.day or day_of(None)
    rules_file = ruleset.claim_files.get(country.country)
    report: dict[str, Any] = {
        "country": country.country,
        "name": country.name,
        "day": day.isoformat(),
        "schema": country.schema_version,
        "file": ruleset.files.get(country.country),
        "overridden": country.overridden,
        "facts": [],
        "single_source": [],
        "stale": [],
        "unknown": [],
    }
    if rules_file is None:
        report["note"] = "schema 1: facts are not claims; nothing to audit until the file is rewritten"
        return report
    grouped: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    for claim in rules_file.claims:
        if claim.in_force(day):
            grouped[(claim.region, claim.fact)].add(claim.source)
    for (region, fact), keys in sorted(grouped.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        rows = [_source_row(country, k, day) for k in sorted(keys, key=country.authority)]
        label = f"{region}:{fact}" if region else fact
        report["facts"].append(
            {
                "fact": fact,
                "region": region,
                "sources": rows,
                "value": effective_value(country, fact) if region is None else None,
            }
        )
        if len(keys) == 1:
            report["single_source"].append(label)
        if min(r["checked_age_days"] for r in rows) > STALE_DAYS:
            report["stale"].append(label)
    known = {fact for (region, fact) in grouped if region is None}
    report["unknown"] = [f for f in all_facts() if f not in known]
    return report


def audit(ruleset: RuleSet | None = None, cc: str | None = None) -> list[dict[str, Any]]:
    """Audit every country of the rule set, or one (an InputError if it has no such country)."""
    rs = ruleset if ruleset is not None else load()
    if cc is not None:
        if cc.upper() not in rs:
            raise InputError(f"no rules for country {cc!r}; known: {', '.join(rs.countries())}")
        return [audit_country(rs, cc)]
    return [audit_country(rs, c) for c in rs.countries()]


def audit_text(reports: list[dict[str, Any]]) -> str:
    """The audit as plain text, one block per country."""
    lines = []
    for r in reports:
        lines.append(f"{r['country']}  {r['name']} (schema {r['schema']}, rules in force on {r['day']})")
        if r.get("note"):
            lines.append(f"  {r['note']}")
            continue
        for f in r["facts"]:
            label = f"{f['region']}:{f['fact']}" if f["region"] else f["fact"]
            srcs = ", ".join(
                f"{s['key']} ({s['kind']}, checked {s['checked_age_days']}d ago"
                + (f", published {s['published_age_days']}d ago" if s["published_age_days"] is not None else "")
                + ")"
                for s in f["sources"]
            )
            lines.append(f"  {label}: {srcs}")
        for key, title in (
            ("single_source", "single source"),
            ("stale", f"newest check over {STALE_DAYS} days old"),
            ("unknown", "unknown (no claim)"),
            ("overridden", "overridden"),
        ):
            lines.append(f"  {title} ({len(r[key])}): {', '.join(r[key]) or '-'}")
    return "\n".join(lines)
