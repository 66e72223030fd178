"""The effective rules of one country: every field present, `null` where unknown.

Schema-2 files (`rules.claims`) are turned into this model by `rules.derive`; schema-1 files
(every field written by hand) are validated against it directly, where a missing field is an
error. The fields added by schema 2 have defaults ("unknown", empty) so schema-1 files still load.
A field set to `null` is an explicit "unknown", which the engine treats as "not allowed"
wherever allowing would be the risky answer (fail closed).

Example:
    >>> from smslab.rules.schema import SenderRules
    >>> SenderRules.model_validate({"available": None, "two_way": None, "marketing": None,
    ...     "transactional": None, "registration": None, "lead_time_weeks": None,
    ...     "notes": None, "sources": []}).available is None
    True
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from smslab.rules.facts import (
    CATEGORIES,
    CONSENT_FORMS,
    DAYS,
    MECHANISMS,
    PURPOSES,
    SENDER_TYPES,
    SOURCE_KINDS,
    Cap,
    MessageClass,
    Penalty,
    Purpose,
    Regex,
    Registration,
    RequiredElement,
    SenderIdFormat,
    SenderType,
    check_windows,
)

__all__ = ["CATEGORIES", "DAYS", "PURPOSES", "SENDER_TYPES", "Country"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where facts come from and when it was checked (schema 2 adds publisher, kind, published, read_as)."""

    url: str = Field(min_length=8)
    title: str
    checked: date
    via: str | None = None  # schema 1: how it was read, e.g. a secondary compilation
    publisher: str | None = None
    kind: Literal[SOURCE_KINDS] | None = None  # type: ignore[valid-type]
    published: date | None = None
    read_as: str | None = None


class SenderRules(_Strict):
    """One sender type in one country. `null` = unknown (treated as not allowed)."""

    available: bool | None
    two_way: bool | None
    marketing: bool | None
    transactional: bool | None
    registration: bool | None
    lead_time_weeks: float | None = Field(ge=0)  # the longest the sources give
    notes: str | None
    sources: list[str]
    offered: dict[str, bool] = {}  # provider (publisher) -> offers it; never combined into `available`
    sender_kept: bool | None = None  # the sender id reaches the phone as sent


class Alternative(_Strict):
    """A reading of a source that differs from the default (kept, not applied)."""

    source: str
    says: str


class QuietHours(_Strict):
    """When marketing may be sent, in the recipient's local time.

    `allowed` maps each day to its windows ("HH:MM-HH:MM", end exclusive, "24:00" = midnight);
    `[]` = not on that day; `allowed: null` = unknown. `holidays: excluded` = never on public holidays.
    """

    applies_to: list[Literal["marketing", "transactional"]]
    allowed: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]] | None
    sundays_excluded: bool | None
    holidays: Literal["excluded", "allowed"] | None
    basis: str | None
    alternatives: list[Alternative]
    sources: list[str]
    # schema 2: days on which nothing may be sent (already removed from `allowed` when that is known)
    excluded_days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None

    @field_validator("allowed")
    @classmethod
    def _windows(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        return value if value is None else check_windows(value)

    @model_validator(mode="after")
    def _sundays_consistent(self) -> QuietHours:
        if self.allowed is not None and self.sundays_excluded is not None:
            if self.sundays_excluded != (self.allowed["sun"] == []):
                raise ValueError("sundays_excluded disagrees with allowed.sun")
        return self


class Consent(_Strict):
    marketing: Literal["required", "not_required"] | None
    dnd_registry: str | None
    basis: str | None
    alternatives: list[Alternative]
    sources: list[str]
    form: Literal[CONSENT_FORMS] | None = None  # type: ignore[valid-type]  # the strictest claimed
    existing_customer_exception: bool | None = None


class WordingRule(_Strict):
    """One `opt_out.wording` claim in force: a text for these senders must match one of `patterns`."""

    required: bool
    patterns: list[Regex]
    example: str | None
    sender_types: list[SenderType] | None  # None = every sender type
    sources: list[str]


class OptOut(_Strict):
    """How recipients opt out, and what every marketing message must say."""

    keywords: list[str] | None
    wording_required: bool | None
    wording_pattern: str | None  # a case-insensitive regex the text must match (re.search)
    wording_example: str | None
    alphanumeric_needs_short_code: bool | None
    notes: str | None
    sources: list[str]
    wordings: list[WordingRule] = []  # schema 2: every wording claim in force; each required one must be met
    mechanisms: list[Literal[MECHANISMS]] | None = None  # type: ignore[valid-type]
    deadline_days: float | None = Field(default=None, ge=0)  # the shortest claimed

    @field_validator("wording_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _pattern_when_required(self) -> OptOut:
        if self.wording_required and not self.wording_pattern:
            raise ValueError("wording_required needs a wording_pattern")
        return self


Category = Literal[CATEGORIES]  # type: ignore[valid-type]


class Sourced(_Strict):
    """Schema 2: what one claim says (or several equal claims), with their source keys."""

    sources: list[str]


class CapRule(Cap, Sourced):
    applies_to: list[Purpose]


class RequiredElementRule(RequiredElement, Sourced):
    sender_types: list[SenderType] | None


class SenderIdRule(SenderIdFormat, Sourced):
    sender_type: SenderType
    sender_types: list[SenderType] | None


class MessageClassRule(MessageClass, Sourced):
    pass


class PenaltyRule(Penalty, Sourced):
    pass


class RegistrationRule(Registration, Sourced):
    pass


class Content(_Strict):
    banned: list[Category]
    restricted: list[Category]
    notes: str | None
    alternatives: list[Alternative]
    sources: list[str]


class Limits(_Strict):
    max_segments: int | None = Field(ge=1)
    notes: str | None
    sources: list[str]


class PerMessage(_Strict):
    """A fine per message (schema 2: from the `penalties` claim per message with the highest max)."""

    min: float = Field(ge=0)
    max: float = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    applies_to: list[Literal["consent", "opt_out", "quiet_hours", "content", "sender"]]
    basis: str


class Penalties(_Strict):
    per_message: PerMessage | None
    notes: list[str]
    sources: list[str]
    items: list[PenaltyRule] = []  # schema 2: every penalty claim in force


class SubdivisionRules(_Strict):
    """A state or province: the rules for numbers there (the national claims and its own, combined).

    `own_facts` lists the facts with claims of its own; those outside quiet_hours and caps are
    listed but not modelled here (see docs/rules.md)."""

    name: str
    quiet_hours: QuietHours
    caps: list[CapRule] | None
    own_facts: list[str]
    provenance: dict[str, list[str]]


class Country(_Strict):
    """Everything smslab knows about sending SMS to one country."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    name: str
    time_zones: list[str] = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    checked: date
    sources: dict[str, Source] = Field(min_length=1)
    senders: dict[SenderType, SenderRules]
    quiet_hours: QuietHours
    consent: Consent
    opt_out: OptOut
    content: Content
    limits: Limits
    penalties: Penalties
    # schema 2 (None / empty when no claim is in force, i.e. unknown)
    caps: list[CapRule] | None = None
    required_elements: list[RequiredElementRule] | None = None
    sender_id_rules: list[SenderIdRule] | None = None
    message_classes: list[MessageClassRule] | None = None
    registrations: list[RegistrationRule] | None = None
    subdivisions: dict[str, SubdivisionRules] = {}
    provenance: dict[str, list[str]] = {}  # fact -> source keys of the claims in force, most authoritative first
    schema_version: Literal[1, 2] = 1
    effective_on: date | None = None  # schema 2: the day the rule was derived for
    overridden: list[str] = []  # fields an override file set (dotted paths)
    override_file: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Country:
        missing = [t for t in SENDER_TYPES if t not in self.senders]
        if missing:
            raise ValueError(f"senders: every sender type needs an entry; missing {', '.join(missing)}")
        known = set(self.sources)
        groups = {f"senders.{k}": v.sources for k, v in self.senders.items()}
        groups.update(
            {
                name: getattr(self, name).sources
                for name in ("quiet_hours", "consent", "opt_out", "content", "limits", "penalties")
            }
        )
        for group, keys in groups.items():
            unknown = [k for k in keys if k not in known]
            if unknown:
                raise ValueError(f"{group}.sources: {', '.join(unknown)} not defined under sources")
        for group in ("quiet_hours", "consent", "content"):
            for alt in getattr(self, group).alternatives:
                if alt.source not in known:
                    raise ValueError(f"{group}.alternatives: source {alt.source} not defined under sources")
        return self

    def source_urls(self) -> list[str]:
        return sorted({s.url for s in self.sources.values()})

    def group_sources(self, group: str) -> list[str]:
        """Source keys behind a group ('quiet_hours', 'senders.short_code') or a fact
        ('opt_out.keywords'), most authoritative first (law > regulator > … > vendor)."""
        if self.provenance:
            keys = {
                k for fact, ks in self.provenance.items() if fact == group or fact.startswith(group + ".") for k in ks
            }
            return sorted(keys, key=self.authority)
        if group.startswith("senders."):
            return list(self.senders[group.split(".", 1)[1]].sources)  # type: ignore[index]
        sources = getattr(getattr(self, group, None), "sources", None)
        return list(sources) if sources is not None else []

    def authority(self, key: str) -> tuple:
        """Sort key of a source: its kind's rank, then the newest check first, then the key."""
        src = self.sources.get(key)
        rank = SOURCE_KINDS.index(src.kind) if src is not None and src.kind else len(SOURCE_KINDS)
        return (rank, -(src.checked.toordinal() if src is not None else 0), key)

    def group_source_url(self, group: str) -> str | None:
        """The most authoritative source URL of a group such as 'quiet_hours' or 'senders.short_code'
        (schema 1: the group's first source)."""
        keys = self.group_sources(group)
        return self.sources[keys[0]].url if keys else None
