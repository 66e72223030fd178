"""Campaign-level rules: sender type, opt-out wording, content, segments, registration.

Each destination country is checked once (per distinct text); the result is a list of
`Issue`s. An issue of severity `block` stops every recipient of that country (or of the
variants named) from being sent.

Example:
    >>> from smslab.campaign import parse_spec
    >>> spec = parse_spec({"name": "x", "purpose": "marketing", "two_way": True, "audience": "a.csv",
    ...     "senders": {"IN": {"type": "long_code", "id": "919000000000"}}, "message": {"text": "Sale!"}})
    >>> [i.rule for i in campaign_issues(spec, ["IN"])][:1]
    ['sender_type_not_allowed']
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from smslab.clock import utcnow
from smslab.compliance import windows
from smslab.compliance.content import detect
from smslab.compliance.elements import element_issues, sender_id_issues
from smslab.compliance.result import Issue
from smslab.rules import RuleSet, load, sender_allowed
from smslab.rules.defaults import DEFAULT_WINDOW, OVERRIDE_HINT, describe_window, quiet_hours_in_force
from smslab.rules.schema import CATEGORIES, Country
from smslab.segments import count as count_segments

GENERIC_OPT_OUT = re.compile(
    r"\b(STOP\w*|UNSUBSCRIBE|OPT[ -]?OUT|ARR[EÊ]T|BAJA|SAIR|PARAR|ABMELDEN|AFMELDEN|AVSLUTA|ANNULLA|CANCELAR|"
    r"DESABONNER|DÉSABONNER|拒收)\b",
    re.I,
)


def _variant_label(variants: tuple[str, ...], all_variants: list[str]) -> str:
    if len(all_variants) == 1:
        return "the message"
    if len(variants) == len(all_variants):
        return "every variant"
    return "variant " + ", ".join(variants)


def _texts(spec, cc: str) -> dict[str, tuple[str, ...]]:
    """Distinct texts sent to a country → the variants that use them."""
    grouped: dict[str, list[str]] = {}
    for variant in spec.variant_names():
        grouped.setdefault(spec.text_for(cc, variant), []).append(variant)
    return {text: tuple(vs) for text, vs in grouped.items()}


def _sender_issues(spec, cc: str, country: Country, rs: RuleSet, at: datetime, now: datetime) -> list[Issue]:
    sender = spec.sender_for(cc)
    out: list[Issue] = []
    two_way = spec.two_way_for(cc)
    ok, why = sender_allowed(cc, sender.type, purpose=spec.purpose, two_way=two_way, ruleset=rs)
    src = country.group_source_url(f"senders.{sender.type}")
    if not ok:
        rule = "alphanumeric_two_way" if sender.type == "alphanumeric" and two_way else "sender_type_not_allowed"
        out.append(Issue(rule, "block", cc, f"{why}; sender {sender.id!r} cannot be used", src))
    if (
        sender.type == "alphanumeric"
        and country.opt_out.alphanumeric_needs_short_code
        and not sender.opt_out_short_code
    ):
        out.append(
            Issue(
                "opt_out_short_code_missing",
                "block",
                cc,
                f"{cc}: an alphanumeric sender must carry an opt-out short code; add "
                f"opt_out_short_code to senders.{cc}",
                country.group_source_url("opt_out"),
            )
        )
    if spec.two_way and not two_way:
        extra = (
            f"; opt-outs still arrive on short code {sender.opt_out_short_code}" if sender.opt_out_short_code else ""
        )
        out.append(
            Issue(
                "one_way_sender",
                "info",
                cc,
                f"{cc}: sender {sender.id!r} is one-way, so campaign keywords get no replies there{extra}",
                src,
            )
        )
    rules = country.senders[sender.type]
    if ok and rules.registration is None:
        out.append(
            Issue(
                "registration_unknown",
                "warn",
                cc,
                f"{cc}: whether {sender.type.replace('_', ' ')} senders must be registered is unknown; "
                f"assume {sender.id!r} must be, and confirm with your provider before the send",
                src,
            )
        )
    if ok and rules.registration:
        days = (at - now).total_seconds() / 86400
        if rules.lead_time_weeks is None:
            out.append(
                Issue(
                    "registration_lead_time",
                    "warn",
                    cc,
                    f"{cc} {sender.type.replace('_', ' ')} senders need registration (lead time unknown); "
                    f"make sure {sender.id!r} is registered before the send",
                    src,
                )
            )
        elif rules.lead_time_weeks * 7 > days:
            when = "now" if days < 1 else f"in {days:.0f} days"
            out.append(
                Issue(
                    "registration_lead_time",
                    "warn",
                    cc,
                    f"{cc} {sender.type.replace('_', ' ')} senders need registration, about "
                    f"{rules.lead_time_weeks:g} weeks; the send is {when}: unless {sender.id!r} is "
                    f"already registered it will not be ready",
                    src,
                )
            )
        else:
            out.append(
                Issue(
                    "registration_lead_time",
                    "info",
                    cc,
                    f"{cc}: register {sender.id!r} now: about {rules.lead_time_weeks:g} weeks needed",
                    src,
                )
            )
    return out


def _text_issues(spec, cc: str, country: Country) -> list[Issue]:
    out: list[Issue] = []
    sender = spec.sender_for(cc)
    names = spec.variant_names()
    declared = {t for t in spec.content_tags if t in CATEGORIES}
    for text, variants in _texts(spec, cc).items():
        label = _variant_label(variants, names)
        oo = country.opt_out
        if spec.purpose == "marketing":
            wordings = [
                w
                for w in getattr(oo, "wordings", None) or []
                if w.required and (w.sender_types is None or sender.type in w.sender_types)
            ]
            if wordings:  # schema 2: every claim in force for this sender type must be met
                unmet = [w for w in wordings if not any(re.search(pat, text, re.I) for pat in w.patterns)]
                for w in unmet[:1]:
                    source = country.sources[w.sources[0]].url if w.sources else country.group_source_url("opt_out")
                    example = w.example or " | ".join(w.patterns)
                    out.append(
                        Issue(
                            "opt_out_wording_missing",
                            "block",
                            cc,
                            f"{cc}: every marketing message from a {sender.type.replace('_', ' ')} must carry "
                            f"opt-out wording like {example!r}; {label} lacks it"
                            + (f" ({len(unmet)} wording rules unmet)" if len(unmet) > 1 else ""),
                            source,
                            variants,
                        )
                    )
            elif oo.wording_required and not getattr(oo, "wordings", None):
                if not re.search(oo.wording_pattern or "", text, re.I):
                    out.append(
                        Issue(
                            "opt_out_wording_missing",
                            "block",
                            cc,
                            f"{cc}: every marketing message must carry opt-out wording like "
                            f"{oo.wording_example!r}; {label} lacks it",
                            country.group_source_url("opt_out"),
                            variants,
                        )
                    )
            elif oo.wording_required is None and not GENERIC_OPT_OUT.search(text):
                # unknown is not "not required": by default a marketing text carries an opt-out instruction
                out.append(
                    Issue(
                        "opt_out_wording_missing",
                        "block",
                        cc,
                        f"{cc}: no verified rule on opt-out wording, so by default every marketing message "
                        f"must carry an opt-out instruction (e.g. 'Reply STOP to opt out'); {label} has "
                        f"none; add one, or {OVERRIDE_HINT}",
                        country.group_source_url("opt_out"),
                        variants,
                    )
                )
            if sender is not None and sender.opt_out_short_code and sender.opt_out_short_code not in text:
                out.append(
                    Issue(
                        "opt_out_short_code_not_in_text",
                        "warn",
                        cc,
                        f"{cc}: {label} does not mention the opt-out short code {sender.opt_out_short_code}",
                        country.group_source_url("opt_out"),
                        variants,
                    )
                )
        found = detect(text, country.languages)
        categories = {**{c: "declared" for c in declared}, **found}
        banned = sorted(c for c in categories if c in country.content.banned)
        restricted = sorted(c for c in categories if c in country.content.restricted and c not in banned)
        if banned:
            what = ", ".join(
                f"{c} ({categories[c]!r})" if categories[c] != "declared" else f"{c} (declared)" for c in banned
            )
            out.append(
                Issue(
                    "content_banned",
                    "block",
                    cc,
                    f"{cc} bans {what}: found in {label}",
                    country.group_source_url("content"),
                    variants,
                )
            )
        if restricted:
            what = ", ".join(restricted)
            out.append(
                Issue(
                    "content_restricted",
                    "warn",
                    cc,
                    f"{cc} restricts {what} (found in {label}); check the conditions before sending",
                    country.group_source_url("content"),
                    variants,
                )
            )
        limit = country.limits.max_segments
        if limit is not None:
            segs = count_segments(text)
            if segs.segments > limit:
                out.append(
                    Issue(
                        "segments_over_limit",
                        "warn",
                        cc,
                        f"{cc}: {label} takes {segs.segments} {segs.encoding} segments; the limit is {limit}",
                        country.group_source_url("limits"),
                        variants,
                    )
                )
    return out


def _quiet_hour_assumptions(cc: str, country: Country, at: datetime) -> list[Issue]:
    """Warn findings for each quiet-hour fact the dataset does not know (the default is applied),
    and when holidays are excluded but no calendar exists for the country or year."""
    out: list[Issue] = []
    qh = quiet_hours_in_force(country)
    src = country.group_source_url("quiet_hours")
    if "window" in qh.assumed:
        out.append(
            Issue(
                "quiet_hours_unknown",
                "warn",
                cc,
                f"{cc}: no verified marketing window; the conservative default applies "
                f"({describe_window(DEFAULT_WINDOW)} local time); to use {cc}'s own rule, {OVERRIDE_HINT}",
                src,
            )
        )
    if "holidays" in qh.assumed:
        out.append(
            Issue(
                "holiday_rule_unknown",
                "warn",
                cc,
                f"{cc}: whether marketing is allowed on public holidays is unknown; holidays are excluded "
                f"(conservative default); to change it, {OVERRIDE_HINT}",
                src,
            )
        )
    if qh.holidays_excluded:
        aware = at.replace(tzinfo=UTC)
        years = sorted({aware.astimezone(ZoneInfo(z)).year for z in country.time_zones})
        missing = [y for y in years if not windows.holiday_calendar_known(cc, y)]
        if missing:
            out.append(
                Issue(
                    "holiday_calendar_missing",
                    "warn",
                    cc,
                    f"{cc}: marketing is not allowed on public holidays, but no holiday calendar is "
                    f"available for {cc} in {', '.join(map(str, missing))}; holidays cannot be excluded, "
                    f"check the date yourself",
                    src,
                )
            )
    return out


def _country_notes(spec, cc: str, country: Country, at: datetime) -> list[Issue]:
    out: list[Issue] = []
    overridden = getattr(country, "overridden", None)
    if overridden:
        out.append(
            Issue(
                "rules_overridden",
                "info",
                cc,
                f"{cc}: {', '.join(overridden)} from your override "
                f"{Path(country.override_file or '').name}, not from the "
                f"dataset's sources (the override wins)",
                None,
            )
        )
    if spec.purpose in country.quiet_hours.applies_to:
        out.extend(_quiet_hour_assumptions(cc, country, at))
    if getattr(country, "schema_version", 1) == 2 and not any(f.startswith("content.") for f in country.provenance):
        out.append(
            Issue(
                "content_rules_unknown",
                "warn",
                cc,
                f"{cc}: no source in the dataset says which content is banned or restricted; nothing "
                f"is blocked for its content, so check the text with your provider",
                None,
            )
        )
    if spec.purpose == "marketing" and country.consent.marketing is None:
        out.append(
            Issue(
                "consent_rule_unknown",
                "info",
                cc,
                f"{cc}: consent rule unknown; consent is required anyway (fail closed)",
                country.group_source_url("consent"),
            )
        )
    if spec.purpose == "marketing" and country.consent.dnd_registry:
        out.append(
            Issue(
                "dnd_registry",
                "warn",
                cc,
                f"{cc}: scrub the audience against the do-not-disturb register "
                f"({country.consent.dnd_registry}); smslab does not hold it",
                country.group_source_url("consent"),
            )
        )
    return out


def campaign_issues(
    spec,
    countries: list[str],
    *,
    ruleset: RuleSet | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> list[Issue]:
    """Campaign-level issues for each destination country (those without rules or sender are skipped:
    the recipient pass blocks them)."""
    rs = ruleset if ruleset is not None else load()
    now = now or utcnow()
    at = at or now
    out: list[Issue] = []
    unknown_tags = [t for t in spec.content_tags if t not in CATEGORIES]
    if unknown_tags:
        out.append(
            Issue(
                "content_tag_unknown",
                "warn",
                None,
                f"content_tags {', '.join(map(repr, unknown_tags))} are not known categories and were "
                f"not checked (known: {', '.join(CATEGORIES)})",
                None,
            )
        )
    for cc in countries:
        country = rs.get(cc)
        if country is None or spec.sender_for(cc) is None:
            continue
        out.extend(_sender_issues(spec, cc, country, rs, at, now))
        out.extend(sender_id_issues(spec, cc, country))
        out.extend(_text_issues(spec, cc, country))
        out.extend(
            element_issues(spec, cc, country, _texts(spec, cc), lambda vs: _variant_label(vs, spec.variant_names()))
        )
        out.extend(_country_notes(spec, cc, country, at))
    return out
