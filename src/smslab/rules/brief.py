"""The country brief: the questions a marketing team takes to legal review, answered from the
dataset, each answer with the sources behind it (kind, date checked) — the library behind the
`country_brief` report.

Every answer is a row {question, answer, sources}; `sources` lists each supporting page as
"kind: title (checked YYYY-MM-DD) url", most authoritative first. "unknown" answers say which
conservative default the check applies instead (docs/rules.md).

Example:
    >>> rows = country_brief("ZA", at="2026-12-06")
    >>> next(r for r in rows if r["question"] == "When may I send?")["answer"][:40]
    'Mon-Fri 08:00-20:00; Sat 09:00-13:00; no'
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from smslab.rules.defaults import DEFAULT_WINDOW, describe_window
from smslab.rules.loader import RuleSet, load
from smslab.rules.schema import SENDER_TYPES

SECTIONS = ("Sending options", "Content", "Consent and opt-out", "When", "Registration and format", "Penalties")


def _day(at: str | date | datetime | None) -> date:
    if at is None:
        return date.today()
    if isinstance(at, str):
        return date.fromisoformat(at[:10])
    return at.date() if isinstance(at, datetime) else at


def _cite(country: Any, facts: tuple[str, ...]) -> str:
    keys: list[str] = []
    for fact in facts:
        for key in country.group_sources(fact):
            if key not in keys:
                keys.append(key)
    keys.sort(key=country.authority)
    out = []
    for key in keys:
        src = country.sources[key]
        kind = src.kind or "source"
        out.append(f"{kind}: {src.title} (checked {src.checked.isoformat()}) {src.url}")
    return " · ".join(out) or "no source: unknown"


def _yes(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _sender_row(country: Any, sender_type: str, purpose: str, two_way: bool) -> dict[str, Any]:
    s = country.senders[sender_type]
    offered = ", ".join(f"{p}: {'yes' if v else 'no'}" for p, v in sorted((s.offered or {}).items()))
    usable = s.available is True and getattr(s, purpose) is True and (not two_way or s.two_way is True)
    lead = "unknown" if s.lead_time_weeks is None else f"about {s.lead_time_weeks:g} weeks"
    answer = (
        f"carriers support it: {_yes(s.available)}; {purpose}: {_yes(getattr(s, purpose))}; "
        f"two-way: {_yes(s.two_way)}; registration: {_yes(s.registration)}; lead time: {lead}"
        + (f"; providers: {offered}" if offered else "")
        + f" → {'usable' if usable else 'not usable (unknown counts as no)'} for {purpose}"
        + (" two-way" if two_way else "")
    )
    return {
        "section": "Sending options",
        "question": sender_type.replace("_", " "),
        "answer": answer,
        "sources": _cite(country, (f"senders.{sender_type}",)),
    }


def _when(country: Any, purpose: str) -> list[dict[str, Any]]:
    qh = country.quiet_hours
    if purpose not in qh.applies_to:
        window = f"no time rule for {purpose} messages in the dataset"
    elif qh.allowed is None:
        window = f"unknown: the check applies the default {describe_window(DEFAULT_WINDOW)}"
    else:
        window = describe_window(qh.allowed)
    holidays = {
        "excluded": "not on public holidays",
        "allowed": "public holidays allowed",
        None: "unknown: public holidays excluded by default",
    }[qh.holidays]
    rows = [
        {
            "section": "When",
            "question": "When may I send?",
            "answer": f"{window}; {holidays} (local time)",
            "sources": _cite(country, ("quiet_hours",)),
        }
    ]
    caps = getattr(country, "caps", None) or []
    rows.append(
        {
            "section": "When",
            "question": "How often?",
            "answer": "; ".join(f"at most {c.max} per {c.period_hours:g} h per {c.per}" for c in caps)
            or "no frequency cap in the dataset",
            "sources": _cite(country, ("caps",)),
        }
    )
    for code, sub in sorted((getattr(country, "subdivisions", None) or {}).items()):
        sub_caps = "; ".join(f"at most {c.max} per {c.period_hours:g} h" for c in sub.caps or [])
        own = describe_window(sub.quiet_hours.allowed) if sub.quiet_hours.allowed else "the national window"
        rows.append(
            {
                "section": "When",
                "question": f"{sub.name} ({code})",
                "answer": own
                + (f"; {sub_caps}" if sub_caps else "")
                + ("; not on public holidays" if sub.quiet_hours.holidays == "excluded" else ""),
                "sources": " · ".join(
                    f"{country.sources[k].kind}: {country.sources[k].title} "
                    f"(checked {country.sources[k].checked}) {country.sources[k].url}"
                    for keys in sub.provenance.values()
                    for k in keys
                )
                or "-",
            }
        )
    return rows


def _consent(country: Any) -> list[dict[str, Any]]:
    c, o = country.consent, country.opt_out
    consent = {"required": "yes", "not_required": "no", None: "unknown: required by default"}[c.marketing]
    extra = [
        f"form: {c.form}" if getattr(c, "form", None) else "",
        f"existing-customer exception: {_yes(c.existing_customer_exception)}"
        if getattr(c, "existing_customer_exception", None) is not None
        else "",
        f"scrub against: {c.dnd_registry}" if c.dnd_registry else "",
    ]
    wording = [w.example or " | ".join(w.patterns) for w in (getattr(o, "wordings", None) or []) if w.required]
    return [
        {
            "section": "Consent and opt-out",
            "question": "Must I have consent?",
            "answer": "; ".join([consent, *[e for e in extra if e]]),
            "sources": _cite(country, ("consent",)),
        },
        {
            "section": "Consent and opt-out",
            "question": "How do people opt out?",
            "answer": "; ".join(
                x
                for x in [
                    f"keywords: {', '.join(o.keywords)}" if o.keywords else "keywords: unknown",
                    f"mechanisms: {', '.join(o.mechanisms)}" if getattr(o, "mechanisms", None) else "",
                    f"wording every message must carry: {' AND '.join(wording)}"
                    if wording
                    else (
                        "wording: unknown (an opt-out instruction is required by default)"
                        if o.wording_required is None
                        else ""
                    ),
                    f"honour within {o.deadline_days:g} days"
                    if getattr(o, "deadline_days", None) is not None
                    else "deadline: unknown",
                    "an alphanumeric sender must give a number for STOP" if o.alphanumeric_needs_short_code else "",
                ]
                if x
            ),
            "sources": _cite(country, ("opt_out",)),
        },
    ]


def _format_rules(country: Any) -> list[dict[str, Any]]:
    parts = []
    for r in getattr(country, "required_elements", None) or []:
        parts.append(
            f"every message carries the {r.element.replace('_', ' ')}" + (f" (e.g. {r.example!r})" if r.example else "")
        )
    for r in getattr(country, "sender_id_rules", None) or []:
        bits = [
            f"prefix {r.prefix!r}" if r.prefix else "",
            f"suffix {r.suffix!r}" if r.suffix else "",
            f"at most {r.max_length} characters" if r.max_length else "",
            r.charset or "",
            "separate promotional and transactional ids" if r.separate_promotional else "",
        ]
        if any(bits):
            parts.append(f"{r.sender_type} ids: " + ", ".join(b for b in bits if b))
    for r in getattr(country, "registrations", None) or []:
        parts.append(f"register {r.what}" + (f" by {r.by}" if getattr(r, "by", None) else ""))
    classes = ", ".join(m.name for m in getattr(country, "message_classes", None) or [])
    if classes:
        parts.append(f"message classes: {classes}")
    return [
        {
            "section": "Registration and format",
            "question": "What must be registered, and how must a message look?",
            "answer": "; ".join(parts) or "nothing in the dataset",
            "sources": _cite(country, ("message", "sender_id", "registration", "message_classes")),
        }
    ]


def country_brief(
    cc: str,
    *,
    purpose: str = "marketing",
    two_way: bool = True,
    at: str | date | datetime | None = None,
    ruleset: RuleSet | None = None,
) -> list[dict[str, Any]]:
    """The brief of one country as rows {section, question, answer, sources} (see the module docstring)."""
    country = (ruleset or load()).at(_day(at)).country(cc)
    rows = [_sender_row(country, t, purpose, two_way) for t in SENDER_TYPES]
    content = country.content
    rows.append(
        {
            "section": "Content",
            "question": "Am I allowed to say this?",
            "answer": f"banned: {', '.join(content.banned) or 'none listed'}; restricted (conditions apply): "
            f"{', '.join(content.restricted) or 'none listed'}",
            "sources": _cite(country, ("content",)),
        }
    )
    rows += _consent(country)
    rows += _when(country, purpose)
    rows += _format_rules(country)
    items = getattr(country.penalties, "items", None) or []
    rows.append(
        {
            "section": "Penalties",
            "question": "What does a breach cost, and who pays?",
            "answer": "; ".join(p.replace("\n", " ") for p in country.penalties.notes)
            if items or country.penalties.notes
            else "unknown",
            "sources": _cite(country, ("penalties",)),
        }
    )
    return rows


def sender_status(
    countries: list[str],
    *,
    purpose: str = "marketing",
    two_way: bool = True,
    at: str | date | datetime | None = None,
    ruleset: RuleSet | None = None,
) -> list[dict[str, Any]]:
    """Per country and sender type: 'usable', 'not allowed' (a source says no) or 'unknown'
    (no source either way; the check treats it as not allowed).

    Example:
        >>> {r["sender_type"]: r["status"] for r in sender_status(["US"], at="2026-12-06")}["alphanumeric"]
        'not allowed'
    """
    rules = (ruleset or load()).at(_day(at))
    rows = []
    for cc in countries:
        c = rules.country(cc)
        for t in SENDER_TYPES:
            s = c.senders[t]
            needed = [s.available, getattr(s, purpose)] + ([s.two_way] if two_way else [])
            status = (
                "not allowed"
                if any(v is False for v in needed)
                else "usable"
                if all(v is True for v in needed)
                else "unknown"
            )
            rows.append({"country": cc, "sender_type": t.replace("_", " "), "status": status})
    return rows


def country_list(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """Country codes from a parameter: "FR, us,KE" or a list; each must be in the dataset.

    Example:
        >>> country_list("fr, US"), country_list(["KE"])
        (['FR', 'US'], ['KE'])
    """
    from smslab.errors import InputError

    items = value.split(",") if isinstance(value, str) else list(value)
    codes = [str(c).strip().upper() for c in items if str(c).strip()]
    known = load().countries()
    unknown = [c for c in codes if c not in known]
    if unknown or not codes:
        raise InputError(
            f"parameter countries: {', '.join(unknown) or 'none given'} not in the rules dataset "
            f"(known: {', '.join(known)})"
        )
    return codes


def brief_summary(
    countries: list[str],
    *,
    purpose: str = "marketing",
    two_way: bool = True,
    at: str | date | datetime | None = None,
    ruleset: RuleSet | None = None,
) -> str:
    """One plain paragraph: which sender types can carry the campaign in each country, and how
    much of the answer rests on a single source or is unknown.

    Example:
        >>> brief_summary(["ZA"], at="2026-12-06").startswith("Rules in force on 2026-12-06")
        True
    """
    day = _day(at)
    rules = (ruleset or load()).at(day)
    kind = f"{'two-way ' if two_way else ''}{purpose}"
    usable: list[str] = []
    none: list[str] = []
    for cc in countries:
        c = rules.country(cc)
        ok = [
            t.replace("_", " ")
            for t in SENDER_TYPES
            if c.senders[t].available is True
            and getattr(c.senders[t], purpose) is True
            and (not two_way or c.senders[t].two_way is True)
        ]
        (usable if ok else none).append(f"{cc} ({', '.join(ok)})" if ok else cc)
    from smslab.rules.audit import audit_country

    report = [audit_country(rules, cc) for cc in countries]
    single = sum(len(r["single_source"]) for r in report)
    unknown = sum(len(r["unknown"]) for r in report)
    text = f"Rules in force on {day.isoformat()}, for {kind} messages. "
    text += f"Known to be possible from: {'; '.join(usable)}. " if usable else ""
    text += (
        f"No sender type is known to be allowed in {', '.join(none)}: the check blocks it there "
        f"until a source says otherwise. "
        if none
        else ""
    )
    text += (
        f"{single} of the facts below rest on a single source and {unknown} are unknown (unknown means "
        f"not allowed, or the conservative default). A planning aid, not legal advice."
    )
    return text
