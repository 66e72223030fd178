"""The facts of schema 2 (docs/rules-format.md): their keys, and the shape of each value.

One table, `value_type(fact)`, says what a claim's `value` must look like; the value models
below are shared by the claims (`rules.claims`) and the effective rule (`rules.schema`).

Example:
    >>> value_type("senders.short_code.lead_time_weeks").validate_python(8)
    8.0
    >>> value_type("senders.pigeon.available") is None
    True
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, TypeAdapter, model_validator

from smslab.senders import SENDER_TYPES
from smslab.senders import SenderType as SenderType  # re-exported: claims, schema and derive import it from here

PURPOSES: tuple[Purpose, ...] = ("marketing", "transactional")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: source kinds, most authoritative first
SOURCE_KINDS = ("law", "regulator", "operator", "industry", "provider", "vendor")
CONSENT_FORMS = ("double_opt_in", "express_written", "express", "opt_out_ok")  # strictest first
MECHANISMS = ("reply_keyword", "url", "ussd", "call", "email")
ELEMENTS = ("brand", "ad_label", "opt_out", "registration_id", "sender_identity")
PENALTY_REASONS = ("consent", "opt_out", "quiet_hours", "content", "sender")
#: the content categories the dataset and the detector share (see docs/rules.md)
CATEGORIES = (
    "adult",
    "alcohol",
    "cannabis",
    "chat_links",
    "contests",
    "controlled_substances",
    "crypto",
    "debt_relief",
    "education",
    "energy_renovation",
    "finance",
    "firearms",
    "forex",
    "gambling",
    "hate",
    "immigration",
    "lead_generation",
    "loans",
    "medicine",
    "p2p",
    "phone_numbers",
    "political",
    "real_estate",
    "religious",
    "telecom_services",
    "tobacco",
    "url_shortener",
    "urls",
)
SENDER_FACTS = (
    "available",
    "offered",
    "marketing",
    "transactional",
    "two_way",
    "registration",
    "lead_time_weeks",
    "sender_kept",
)

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Purpose = Literal["marketing", "transactional"]


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression {value!r}: {exc}") from None
    return value


Regex = Annotated[str, Field(min_length=1), AfterValidator(_regex)]


def window_minutes(window: str) -> tuple[int, int]:
    """'08:00-20:30' -> (480, 1230); ValueError if malformed or empty."""
    m = _WINDOW.match(window)
    if not m:
        raise ValueError(f"{window!r} is not a window like '08:00-20:30'")
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    if end > 24 * 60 or end <= start:
        raise ValueError(f"{window!r} must end after it starts, by 24:00 at most")
    return start, end


def check_windows(value: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every day present; every window well formed (a pydantic validator)."""
    missing = [d for d in DAYS if d not in value]
    if missing:
        raise ValueError(f"every day needs an entry ([] = not allowed); missing {', '.join(missing)}")
    for day, windows in value.items():
        for window in windows:
            try:
                window_minutes(window)
            except ValueError as exc:
                raise ValueError(f"{day}: {exc}") from None
    return value


Windows = Annotated[dict[Day, list[str]], AfterValidator(check_windows)]


class Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Wording(Value):
    """`opt_out.wording`: a marketing text must match at least one of `patterns` (case-insensitive)."""

    required: StrictBool
    patterns: list[Regex] = []
    example: str | None = None

    @model_validator(mode="after")
    def _patterns_when_required(self) -> Wording:
        if self.required and not self.patterns:
            raise ValueError("required: true needs at least one pattern")
        return self


class Cap(Value):
    """At most `max` marketing messages per recipient per `period_hours`, counted `per` brand/sender/any."""

    max: int = Field(ge=1)
    period_hours: float = Field(gt=0)
    per: Literal["brand", "sender", "any"]


class RequiredElement(Value):
    element: Literal[ELEMENTS]  # type: ignore[valid-type]
    pattern: Regex | None = None
    example: str | None = None


class SenderIdFormat(Value):
    prefix: str | None = None
    suffix: str | None = None
    min_length: int | None = Field(default=None, ge=1)
    max_length: int | None = Field(default=None, ge=1)
    charset: str | None = None
    separate_promotional: bool | None = None


class MessageClass(Value):
    name: str = Field(min_length=1)
    meaning: str


class Penalty(Value):
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    per: Literal["message", "violation", "day", "campaign"]
    falls_on: Literal["sender", "brand", "provider", "operator"] | None = None  # None: the source does not say
    applies_to: list[Literal[PENALTY_REASONS]] | None = None  # type: ignore[valid-type]  # None: not said

    @model_validator(mode="after")
    def _ordered(self) -> Penalty:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        if (self.min is not None or self.max is not None) and self.currency is None:
            raise ValueError("an amount needs a currency")
        return self


class Registration(Value):
    what: str = Field(min_length=1)
    by: date | None = None
    note: str | None = None


_Bool = StrictBool
_NonNeg = Annotated[float, Field(ge=0)]
_TYPES: dict[str, Any] = {  # fact -> a type pydantic validates its value against
    "quiet_hours.allowed": Windows,
    "quiet_hours.excluded_days": list[Day],
    "quiet_hours.holidays": Literal["excluded", "allowed"],
    "consent.marketing": Literal["required", "not_required"],
    "consent.form": Literal[CONSENT_FORMS],
    "consent.existing_customer_exception": _Bool,
    "consent.dnd_registry": Annotated[str, Field(min_length=1)],
    "opt_out.keywords": list[Annotated[str, Field(min_length=1)]],
    "opt_out.mechanisms": list[Literal[MECHANISMS]],  # type: ignore[valid-type]
    "opt_out.wording": Wording,
    "opt_out.deadline_days": _NonNeg,
    "opt_out.alphanumeric_needs_short_code": _Bool,
    "content.banned": list[Category],
    "content.restricted": list[Category],
    "limits.max_segments": Annotated[int, Field(ge=1)],
    "caps": Cap,
    "message.required_elements": list[RequiredElement],
    "sender_id.alphanumeric": SenderIdFormat,
    "message_classes": list[MessageClass],
    "penalties": Penalty,
    "registration": Registration,
}
_SENDER_TYPES: dict[str, Any] = {a: (_NonNeg if a == "lead_time_weeks" else _Bool) for a in SENDER_FACTS}


def all_facts() -> list[str]:
    """Every fact key of the table, sender facts spelled out per sender type."""
    senders = [f"senders.{t}.{a}" for t in SENDER_TYPES for a in SENDER_FACTS]
    return senders + list(_TYPES)


@cache
def value_type(fact: str) -> TypeAdapter | None:
    """The validator of a fact's value, None for a fact not in the table."""
    parts = fact.split(".")
    if len(parts) == 3 and parts[0] == "senders" and parts[1] in SENDER_TYPES and parts[2] in SENDER_FACTS:
        return TypeAdapter(_SENDER_TYPES[parts[2]])
    return TypeAdapter(_TYPES[fact]) if fact in _TYPES else None


def default_purposes(fact: str) -> tuple[Purpose, ...]:
    """`applies_to` when a claim gives none: marketing for windows, caps, opt-out, message rules."""
    if fact.startswith(("quiet_hours.", "opt_out.", "message.")) or fact == "caps":
        return ("marketing",)
    return PURPOSES


def takes_sender_types(fact: str) -> bool:
    """Only these facts may carry `sender_types`."""
    return fact in ("opt_out.wording", "message.required_elements") or fact.startswith("sender_id.")
