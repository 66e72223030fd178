"""From a schema-2 file's claims to the effective rule on a given day (`schema.Country`).

Only the claims in force that day count (effective_from <= day < effective_until). Each fact
combines its claims the most restrictive way (`rules.combine`, the table in
docs/rules-format.md). A fact without a claim stays unknown (None); no default is applied here:
the engine decides what unknown means (fail closed). `Country.provenance` maps every fact in
force to the source keys of its claims, most authoritative first.

Example:
    >>> from smslab.rules.claims import parse_file
    >>> src = {"url": "https://example.org/rules/fr", "title": "t", "publisher": "P", "kind": "law",
    ...        "checked": "2026-12-01", "read_as": "live page"}
    >>> old = {"fact": "quiet_hours.holidays", "value": "allowed", "source": "a", "quote": "q",
    ...        "effective_until": "2026-01-01"}
    >>> new = {**old, "value": "excluded", "effective_until": None, "effective_from": "2026-01-01"}
    >>> f = parse_file({"schema": 2, "country": "FR", "name": "France", "time_zones": ["Europe/Paris"],
    ...     "languages": ["fr"], "sources": {"a": src}, "claims": [old, new]}, "FR.yaml")
    >>> from datetime import date
    >>> derive(f, date(2025, 6, 1)).quiet_hours.holidays, derive(f, date(2026, 6, 1)).quiet_hours.holidays
    ('allowed', 'excluded')
    >>> derive(f, date(2026, 6, 1)).consent.marketing is None       # no claim: unknown
    True
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, cast

from smslab.rules import combine as cb
from smslab.rules.claims import Claim, RulesFile
from smslab.rules.facts import CATEGORIES, CONSENT_FORMS, DAYS, MECHANISMS, SENDER_TYPES, SOURCE_KINDS, SenderType
from smslab.rules.schema import (
    Alternative,
    CapRule,
    Consent,
    Content,
    Country,
    Limits,
    MessageClassRule,
    OptOut,
    Penalties,
    PenaltyRule,
    PerMessage,
    QuietHours,
    RegistrationRule,
    RequiredElementRule,
    SenderIdRule,
    SenderRules,
    Source,
    SubdivisionRules,
    WordingRule,
)

_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def in_force(rules_file: RulesFile, day: date) -> tuple[int, ...]:
    """The numbers of the claims in force on `day` (the cache key of a derivation)."""
    return tuple(i for i, c in enumerate(rules_file.claims) if c.in_force(day))


class _Facts:
    """The claims in force, grouped by fact, with source ranking and provenance."""

    def __init__(self, rules_file: RulesFile, claims: Sequence[Claim]):
        self.file = rules_file
        self.by_fact: dict[str, list[Claim]] = defaultdict(list)
        for claim in claims:
            self.by_fact[claim.fact].append(claim)

    def rank(self, key: str) -> tuple:
        src = self.file.sources[key]
        return (SOURCE_KINDS.index(src.kind), -src.checked.toordinal(), key)

    def keys(self, claims: Sequence[Claim]) -> list[str]:
        return sorted({c.source for c in claims}, key=self.rank)

    def of(self, fact: str) -> list[Claim]:
        return self.by_fact.get(fact, [])

    def value(self, fact: str, how: Callable[[list[Any]], Any]) -> Any:
        """`how` over the claimed values, None when no claim is in force."""
        claims = self.of(fact)
        return how([c.value for c in claims]) if claims else None

    def group(self, prefix: str) -> list[Claim]:
        return [c for f, cs in self.by_fact.items() if f == prefix or f.startswith(prefix + ".") for c in cs]

    def provenance(self) -> dict[str, list[str]]:
        return {fact: self.keys(claims) for fact, claims in sorted(self.by_fact.items())}

    def notes(self, claims: Sequence[Claim]) -> str | None:
        readings = cb.united([[c.reading] for c in claims if c.reading])
        return "; ".join(readings) or None


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_show(v) or 'none'}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    return str(value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value)


def _amount(low: float | None, high: float | None) -> str:
    """'500-1,500', 'up to 750', 'from 500', or 'amount not stated'."""

    def num(x: float) -> str:
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,}"

    if low is not None and high is not None:
        return num(low) if low == high else f"{num(low)}-{num(high)}"
    if high is not None:
        return f"up to {num(high)}"
    return f"from {num(low)}" if low is not None else "amount not stated"


def _alternatives(claims: Sequence[Claim], effective: dict[str, Any]) -> list[Alternative]:
    """What each claim says where it differs from the effective value (kept, not applied)."""
    return [
        Alternative(source=c.source, says=f"{c.fact}: {_show(c.value)}")
        for c in claims
        if c.fact in effective and c.value != effective[c.fact]
    ]


def _basis(facts: _Facts, claims: Sequence[Claim]) -> str | None:
    if not claims:
        return None
    return f"the most restrictive combination of {len(claims)} claim(s) from {', '.join(facts.keys(claims))} (schema 2)"


def _senders(facts: _Facts) -> dict[SenderType, SenderRules]:
    out: dict[SenderType, SenderRules] = {}
    for kind in SENDER_TYPES:
        p = f"senders.{kind}."
        offered: dict[str, list[bool]] = defaultdict(list)
        for claim in facts.of(p + "offered"):
            offered[facts.file.sources[claim.source].publisher].append(claim.value)
        out[kind] = SenderRules(
            available=facts.value(p + "available", cb.any_false),
            two_way=facts.value(p + "two_way", cb.any_false),
            marketing=facts.value(p + "marketing", cb.any_false),
            transactional=facts.value(p + "transactional", cb.any_false),
            registration=facts.value(p + "registration", cb.any_true),
            lead_time_weeks=facts.value(p + "lead_time_weeks", cb.longest),
            sender_kept=facts.value(p + "sender_kept", cb.any_false),
            offered={name: all(values) for name, values in sorted(offered.items())},
            notes=facts.notes(facts.group(p[:-1])),
            sources=facts.keys(facts.group(p[:-1])),
        )
    return out


def _quiet_hours(facts: _Facts) -> QuietHours:
    claims = facts.group("quiet_hours")
    excluded = facts.value("quiet_hours.excluded_days", lambda v: cb.united(v, DAYS))
    # "no quiet hours" (every minute of every day) is kept as a claim, but cannot by itself make the
    # window known: a source that lists no restriction is not evidence that any hour is allowed
    allowed = facts.value(
        "quiet_hours.allowed",
        lambda v: None if all(cb.unrestricted(w) for w in v) else cb.intersect_windows(v, excluded=excluded or ()),
    )
    holidays = facts.value("quiet_hours.holidays", lambda v: cb.winner(v, "excluded"))
    sundays = (allowed["sun"] == []) if allowed is not None else (True if excluded and "sun" in excluded else None)
    applies = cb.united([c.purposes for c in claims], ("marketing", "transactional")) or ["marketing"]
    return QuietHours(
        applies_to=applies,
        allowed=allowed,
        excluded_days=excluded,
        sundays_excluded=sundays,
        holidays=holidays,
        basis=_basis(facts, claims),
        sources=facts.keys(claims),
        alternatives=_alternatives(
            claims,
            {"quiet_hours.allowed": allowed, "quiet_hours.holidays": holidays, "quiet_hours.excluded_days": excluded},
        ),
    )


def _consent(facts: _Facts) -> Consent:
    claims = facts.group("consent")
    eff = {
        "consent.marketing": facts.value("consent.marketing", lambda v: cb.winner(v, "required")),
        "consent.form": facts.value("consent.form", lambda v: cb.strictest(v, CONSENT_FORMS)),
        "consent.existing_customer_exception": facts.value("consent.existing_customer_exception", cb.any_false),
    }
    dnd = facts.value("consent.dnd_registry", lambda v: "; ".join(cb.united([[x] for x in v])))
    return Consent(
        marketing=eff["consent.marketing"],
        form=eff["consent.form"],
        dnd_registry=dnd,
        existing_customer_exception=eff["consent.existing_customer_exception"],
        basis=_basis(facts, claims),
        alternatives=_alternatives(claims, eff),
        sources=facts.keys(claims),
    )


def scoped(pattern: str) -> str:
    """A pattern whose leading global flags (`(?i)stop`) become scoped (`(?i:stop)`), so that it
    can sit inside a larger expression. Example: `scoped("(?i)stop")` gives `'(?i:stop)'`."""
    m = _GLOBAL_FLAGS.match(pattern)
    return f"(?{m[1]}:{pattern[m.end() :]})" if m else f"(?:{pattern})"


def combined_pattern(rules: Sequence[WordingRule]) -> str | None:
    """One regex for `re.search` that matches only texts meeting every required rule.

    One rule: the alternation of its patterns. Several: one look-ahead per rule, anchored at
    the start, so each rule's alternation must be found somewhere in the text.

    Example:
        >>> import re
        >>> r = [WordingRule(required=True, patterns=["STOP"], example=None, sender_types=None, sources=[]),
        ...      WordingRule(required=True, patterns=["https?://", "36\\\\d{3}"], example=None, sender_types=None,
        ...                  sources=[])]
        >>> both = combined_pattern(r)
        >>> combined_pattern(r[:1]), bool(re.search(both, "STOP au 36180")), bool(re.search(both, "STOP"))
        ('(?:STOP)', True, False)
    """
    alternations = ["|".join(scoped(p) for p in rule.patterns) for rule in rules if rule.required]
    if not alternations:
        return None
    if len(alternations) == 1:
        return alternations[0]
    return "^" + "".join(f"(?=[\\s\\S]*?(?:{alt}))" for alt in alternations)


def _opt_out(facts: _Facts) -> OptOut:
    claims = facts.group("opt_out")
    wordings = [
        WordingRule(**c.value.model_dump(), sender_types=c.sender_types, sources=[c.source])
        for c in facts.of("opt_out.wording")
    ]
    required = [w for w in wordings if w.required]
    examples = [w.example for w in required if w.example]
    return OptOut(
        keywords=facts.value("opt_out.keywords", cb.united_words),
        mechanisms=facts.value("opt_out.mechanisms", lambda v: cb.united(v, MECHANISMS)),
        deadline_days=facts.value("opt_out.deadline_days", cb.shortest),
        wordings=wordings,
        wording_required=(bool(required) if wordings else None),
        wording_pattern=combined_pattern(required),
        wording_example=" + ".join(examples) or None,
        alphanumeric_needs_short_code=facts.value("opt_out.alphanumeric_needs_short_code", cb.any_true),
        notes=facts.notes(claims),
        sources=facts.keys(claims),
    )


def _content(facts: _Facts) -> Content:
    claims = facts.group("content")
    banned = facts.value("content.banned", lambda v: cb.united(v, CATEGORIES)) or []
    restricted = [
        c for c in (facts.value("content.restricted", lambda v: cb.united(v, CATEGORIES)) or []) if c not in banned
    ]
    return Content(
        banned=banned,
        restricted=restricted,
        notes=facts.notes(claims),
        sources=facts.keys(claims),
        alternatives=_alternatives(claims, {"content.banned": banned, "content.restricted": restricted}),
    )


def _kept(facts: _Facts, claims: Sequence[Claim], make: Callable[[Claim, Any], Any], items=None) -> list | None:
    """Every claimed item kept once; equal items from several claims merge their sources."""
    if not claims:
        return None
    out: dict[str, tuple[Any, list[Claim]]] = {}
    for claim in claims:
        for item in items(claim) if items else [claim.value]:
            rule = make(claim, item)
            out.setdefault(rule.model_dump_json(exclude={"sources"}), (rule, []))[1].append(claim)
    return [rule.model_copy(update={"sources": facts.keys(cs)}) for rule, cs in out.values()]


def _caps(facts: _Facts) -> list[CapRule] | None:
    return _kept(
        facts, facts.of("caps"), lambda c, v: CapRule(**v.model_dump(), applies_to=list(c.purposes), sources=[c.source])
    )


def _penalties(facts: _Facts) -> Penalties:
    claims = facts.of("penalties")
    items = _kept(facts, claims, lambda c, v: PenaltyRule(**v.model_dump(), sources=[c.source])) or []
    top = max(
        (c for c in claims if c.value.per == "message" and c.value.max is not None and c.value.currency),
        key=lambda c: c.value.max,
        default=None,
    )
    per = (
        None
        if top is None
        else PerMessage(
            min=top.value.min or 0.0,
            max=top.value.max,
            currency=top.value.currency,
            applies_to=top.value.applies_to or [],
            basis=f"{top.reading or top.quote} ({top.source})"
            + ("" if top.value.min is not None else "; no minimum given, 0 used"),
        )
    )
    notes = [
        f"{_amount(p.min, p.max)} {p.currency or ''} per {p.per}, falls on "
        f"{'the ' + p.falls_on if p.falls_on else 'an unstated party'}, for "
        f"{', '.join(p.applies_to) if p.applies_to else 'unstated breaches'} "
        f"({', '.join(p.sources)})"
        for p in items
    ]
    return Penalties(per_message=per, items=items, notes=notes, sources=facts.keys(claims))


def _subdivision(rules_file: RulesFile, claims: Sequence[Claim], code: str) -> SubdivisionRules:
    facts = _Facts(rules_file, [c for c in claims if c.region in (None, code)])
    own = sorted({c.fact for c in claims if c.region == code})
    return SubdivisionRules(
        name=rules_file.subdivisions[code].name,
        quiet_hours=_quiet_hours(facts),
        caps=_caps(facts),
        own_facts=own,
        provenance={f: ks for f, ks in facts.provenance().items() if f.startswith("quiet_hours.") or f == "caps"},
    )


def _source(src) -> Source:
    return Source(
        url=src.url,
        title=src.title,
        checked=src.checked,
        publisher=src.publisher,
        kind=src.kind,
        published=src.published,
        read_as=src.read_as,
    )


def derive_claims(rules_file: RulesFile, claims: Sequence[Claim], day: date | None = None) -> Country:
    """The effective rule from a given set of claims (normally those in force on `day`)."""
    facts = _Facts(rules_file, [c for c in claims if c.region is None])
    limits = facts.of("limits.max_segments")
    return Country(
        country=rules_file.country,
        name=rules_file.name,
        time_zones=rules_file.time_zones,
        languages=rules_file.languages,
        checked=max(s.checked for s in rules_file.sources.values()),
        sources={k: _source(s) for k, s in rules_file.sources.items()},
        senders=_senders(facts),
        quiet_hours=_quiet_hours(facts),
        consent=_consent(facts),
        opt_out=_opt_out(facts),
        content=_content(facts),
        penalties=_penalties(facts),
        limits=Limits(
            max_segments=facts.value("limits.max_segments", cb.shortest),
            notes=facts.notes(limits),
            sources=facts.keys(limits),
        ),
        caps=_caps(facts),
        required_elements=_kept(
            facts,
            facts.of("message.required_elements"),
            lambda c, v: RequiredElementRule(**v.model_dump(), sender_types=c.sender_types, sources=[c.source]),
            items=lambda c: c.value,
        ),
        sender_id_rules=_kept(
            facts,
            facts.group("sender_id"),
            lambda c, v: SenderIdRule(
                **v.model_dump(),
                sender_type=cast(SenderType, c.fact.split(".")[1]),
                sender_types=c.sender_types,
                sources=[c.source],
            ),
        ),
        message_classes=_kept(
            facts,
            facts.of("message_classes"),
            lambda c, v: MessageClassRule(**v.model_dump(), sources=[c.source]),
            items=lambda c: c.value,
        ),
        registrations=_kept(
            facts, facts.of("registration"), lambda c, v: RegistrationRule(**v.model_dump(), sources=[c.source])
        ),
        subdivisions={code: _subdivision(rules_file, claims, code) for code in sorted(rules_file.subdivisions)},
        provenance=facts.provenance(),
        schema_version=2,
        effective_on=day,
    )


def derive(rules_file: RulesFile, at: date) -> Country:
    """The rule in force on day `at`: the most restrictive combination of the claims in force then."""
    return derive_claims(rules_file, [rules_file.claims[i] for i in in_force(rules_file, at)], at)
