"""The schema of one country's rules: every field present, `null` where unknown.

A field that is missing is an error; a field set to `null` is an explicit "unknown", which
the engine treats as "not allowed" wherever allowing would be the risky answer (fail closed).

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

SENDER_TYPES = ("short_code", "long_code", "toll_free", "alphanumeric")
PURPOSES = ("marketing", "transactional")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: the content categories the dataset and the detector share (see docs/rules.md)
CATEGORIES = (
    "adult", "alcohol", "cannabis", "chat_links", "contests", "controlled_substances", "crypto",
    "debt_relief", "education", "energy_renovation", "finance", "firearms", "forex", "gambling",
    "hate", "immigration", "lead_generation", "loans", "medicine", "p2p", "phone_numbers",
    "political", "real_estate", "religious", "telecom_services", "tobacco", "url_shortener", "urls",
)

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a group of facts comes from and when it was checked."""

    url: str = Field(min_length=8)
    title: str
    checked: date
    via: str | None  # how it was read, e.g. a secondary compilation


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

    @field_validator("allowed")
    @classmethod
    def _windows(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is None:
            return value
        missing = [d for d in DAYS if d not in value]
        if missing:
            raise ValueError(f"every day needs an entry ([] = not allowed); missing {', '.join(missing)}")
        for day, windows in value.items():
            for window in windows:
                m = _WINDOW.match(window)
                if not m:
                    raise ValueError(f"{day}: {window!r} is not a window like '08:00-20:30'")
                start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
                if end > 24 * 60 or end <= start:
                    raise ValueError(f"{day}: {window!r} must end after it starts, by 24:00 at most")
        return value

    @model_validator(mode="after")
    def _sundays_consistent(self) -> "QuietHours":
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


class OptOut(_Strict):
    """How recipients opt out, and what every marketing message must say."""

    keywords: list[str] | None
    wording_required: bool | None
    wording_pattern: str | None  # a case-insensitive regex the text must match
    wording_example: str | None
    alphanumeric_needs_short_code: bool
    notes: str | None
    sources: list[str]

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
    def _pattern_when_required(self) -> "OptOut":
        if self.wording_required and not self.wording_pattern:
            raise ValueError("wording_required needs a wording_pattern")
        return self


Category = Literal[CATEGORIES]  # type: ignore[valid-type]


class Content(_Strict):
    banned: list[Category]  # type: ignore[valid-type]
    restricted: list[Category]  # type: ignore[valid-type]
    notes: str | None
    alternatives: list[Alternative]
    sources: list[str]


class Limits(_Strict):
    max_segments: int | None = Field(ge=1)
    notes: str | None
    sources: list[str]


class PerMessage(_Strict):
    min: float = Field(ge=0)
    max: float = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    applies_to: list[Literal["consent", "opt_out", "quiet_hours", "content", "sender"]]
    basis: str


class Penalties(_Strict):
    per_message: PerMessage | None
    notes: list[str]
    sources: list[str]


class Country(_Strict):
    """Everything smslab knows about sending SMS to one country."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    name: str
    time_zones: list[str] = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    checked: date
    sources: dict[str, Source] = Field(min_length=1)
    senders: dict[Literal["short_code", "long_code", "toll_free", "alphanumeric"], SenderRules]
    quiet_hours: QuietHours
    consent: Consent
    opt_out: OptOut
    content: Content
    limits: Limits
    penalties: Penalties

    @model_validator(mode="after")
    def _complete(self) -> "Country":
        missing = [t for t in SENDER_TYPES if t not in self.senders]
        if missing:
            raise ValueError(f"senders: every sender type needs an entry; missing {', '.join(missing)}")
        known = set(self.sources)
        groups = {f"senders.{k}": v.sources for k, v in self.senders.items()}
        groups.update({name: getattr(self, name).sources
                       for name in ("quiet_hours", "consent", "opt_out", "content", "limits", "penalties")})
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

    def group_source_url(self, group: str) -> str | None:
        """The first source URL of a group such as 'quiet_hours' or 'senders.short_code'."""
        if group.startswith("senders."):
            keys = self.senders[group.split(".", 1)[1]].sources  # type: ignore[index]
        else:
            keys = getattr(self, group).sources
        return self.sources[keys[0]].url if keys else None
