"""Campaign-level checks of schema-2 rules: required message elements and sender-ID formats.

A marketing text that lacks an element the country requires (an advertising label such as
Korea's "(광고)", the brand, an opt-out) is a `block` naming the element and its source; an
element the check cannot verify (no pattern, no declared brand) is a `warn` that says what
to check by hand. A spec sender id that breaks the country's format (a required `AD-` prefix,
a `-AD` suffix, a length) is a `block`.

Example:
    >>> element_present("brand", None, "ACME: 30% off", brand="Acme")
    True
    >>> element_present("ad_label", r"^\\(광고\\)", "(광고) ACME 30%", brand=None)
    True
    >>> sender_id_problems("SHOP", {"prefix": "AD-", "suffix": None, "min_length": None, "max_length": 11})
    ["must start with 'AD-'"]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from smslab.compliance.result import Issue

#: what a text must contain, by element, when the rule gives no pattern of its own
OPT_OUT_WORDS = re.compile(
    r"\b(STOP\w*|UNSUBSCRIBE|OPT[ -]?OUT|ARR[EÊ]T|BAJA|SALIR|SAIR|PARAR|ABMELDEN|AFMELDEN|AVSLUTA|ANNULLA|CANCELAR|"
    r"DESABONNER|DÉSABONNER|AFMELD|AVMELD|拒收|退订|수신거부)\b|https?://",
    re.I,
)
_IDENTITY = ("brand", "sender_identity")


def element_present(element: str, pattern: str | None, text: str, *, brand: str | None) -> bool | None:
    """True/False when the text has/lacks the element; None when it cannot be told (no pattern, no brand)."""
    if pattern:
        return re.search(pattern, text, re.I) is not None
    if element == "opt_out":
        return OPT_OUT_WORDS.search(text) is not None
    if element in _IDENTITY:
        return None if not brand else brand.casefold() in text.casefold()
    return None


def sender_id_problems(sender_id: str, rule: Any) -> list[str]:
    """What is wrong with an alphanumeric sender id under one format rule (prefix, suffix, length)."""
    get: Callable[[str], Any] = rule.get if isinstance(rule, dict) else (lambda k: getattr(rule, k, None))
    out = []
    prefix, suffix = get("prefix"), get("suffix")
    if prefix and not sender_id.upper().startswith(prefix.upper()):
        out.append(f"must start with {prefix!r}")
    if suffix and not sender_id.upper().endswith(suffix.upper()):
        out.append(f"must end with {suffix!r}")
    if get("max_length") and len(sender_id) > get("max_length"):
        out.append(f"at most {get('max_length')} characters")
    if get("min_length") and len(sender_id) < get("min_length"):
        out.append(f"at least {get('min_length')} characters")
    return out


def _applies(rule: Any, sender_type: str) -> bool:
    types = getattr(rule, "sender_types", None)
    return types is None or sender_type in types


def element_issues(spec: Any, cc: str, country: Any, texts: dict[str, tuple[str, ...]], label_of: Any) -> list[Issue]:
    """Required elements of every distinct text of a country (marketing rules apply to marketing)."""
    out: list[Issue] = []
    sender = spec.sender_for(cc)
    brand = sender.brand or (sender.id if sender.type == "alphanumeric" else None)
    for rule in getattr(country, "required_elements", None) or []:
        if spec.purpose not in (getattr(rule, "applies_to", None) or ["marketing"]) or not _applies(rule, sender.type):
            continue
        source = country.sources[rule.sources[0]].url if rule.sources else None
        for text, variants in texts.items():
            present = element_present(rule.element, rule.pattern, text, brand=brand)
            label = label_of(variants)
            example = f" (e.g. {rule.example!r})" if rule.example else ""
            if present is False:
                out.append(
                    Issue(
                        "required_element_missing",
                        "block",
                        cc,
                        f"{cc}: every {spec.purpose} message must carry the {rule.element.replace('_', ' ')}"
                        f"{example}; {label} lacks it",
                        source,
                        variants,
                    )
                )
            elif present is None:
                hint = (
                    f"declare senders.{cc}.brand so the check can verify it"
                    if rule.element in _IDENTITY
                    else "smslab cannot verify it: check by hand"
                )
                out.append(
                    Issue(
                        "required_element_unverified",
                        "warn",
                        cc,
                        f"{cc}: every {spec.purpose} message must carry the {rule.element.replace('_', ' ')}"
                        f"{example}; {hint} ({label})",
                        source,
                        variants,
                    )
                )
    return out


def sender_id_issues(spec: Any, cc: str, country: Any) -> list[Issue]:
    """Format rules for the spec's sender id (alphanumeric ids: prefixes, suffixes, length)."""
    sender = spec.sender_for(cc)
    out: list[Issue] = []
    for rule in getattr(country, "sender_id_rules", None) or []:
        if getattr(rule, "sender_type", "alphanumeric") != sender.type or not _applies(rule, sender.type):
            continue
        if spec.purpose != "marketing" and (rule.prefix or rule.suffix):
            continue  # promotional markers (AE 'AD-', SA '-AD') are for marketing senders
        problems = sender_id_problems(sender.id, rule)
        if problems:
            source = country.sources[rule.sources[0]].url if rule.sources else None
            out.append(
                Issue(
                    "sender_id_format",
                    "block",
                    cc,
                    f"{cc}: sender id {sender.id!r} breaks the country's sender-ID rule: {'; '.join(problems)}",
                    source,
                )
            )
    return out
