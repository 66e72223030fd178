"""The campaign spec (YAML): model, validation and loading.

Example:
    >>> from smslab.campaign import load_spec
    >>> spec = load_spec("data/samples/campaign.yaml")
    >>> spec.sender_for("FR").type
    'short_code'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from smslab import identity
from smslab.errors import SpecError
from smslab.senders import SenderType
from smslab.yamlfiles import describe, read_yaml

UNKNOWN_FIELD = "unknown field (check the spelling against the commented sample data/samples/campaign.yaml)"

#: how far in the past a send_at may be (clock skew, a slow start) before it is a mistake
SEND_AT_TOLERANCE = timedelta(minutes=5)


class Sender(BaseModel):
    """Who a country's messages come from."""

    model_config = ConfigDict(extra="forbid")
    type: SenderType
    id: str
    opt_out_short_code: str | None = None
    two_way: bool | None = None  # overrides the campaign's two_way for this country
    brand: str | None = None

    @field_validator("id", "opt_out_short_code", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class Variant(BaseModel):
    """An A/B variant: its own text, and optionally its own per-country texts."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    by_country: dict[str, str] = Field(default_factory=dict)


class Message(BaseModel):
    """The text: `text` is variant A; `variants` maps B, C… to a text or {text, by_country}."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    variants: dict[str, Variant] = Field(default_factory=dict)
    by_country: dict[str, str] = Field(default_factory=dict)

    @field_validator("variants", mode="before")
    @classmethod
    def _plain_text_variants(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"text": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value


class CampaignSpec(BaseModel):
    """A campaign as written in YAML (see DESIGN.md, "The campaign spec")."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    purpose: Literal["marketing", "transactional"]
    two_way: bool = False
    send_at: datetime | None = None
    audience: str
    default_region: str | None = None
    senders: dict[str, Sender]
    message: Message
    keywords: list[str] = Field(default_factory=list)
    content_tags: list[str] = Field(default_factory=list)
    provider: str = "simulator"
    rules: str | None = None  # optional override file for the rules dataset
    base_dir: Path = Field(default=Path("."), exclude=True)
    source: str = Field(default="<spec>", exclude=True)

    @field_validator("send_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("send_at needs a UTC offset, e.g. 2026-11-27T10:00:00+01:00")
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError("expected a two-letter region code such as FR")
        return value.upper() if value else value

    @field_validator("senders")
    @classmethod
    def _sender_keys(cls, value: dict[str, Sender]) -> dict[str, Sender]:
        for key in value:
            if key != "*" and not re.fullmatch(r"[A-Z]{2}", key):
                raise ValueError(f"sender key {key!r}: expected a two-letter upper-case region code or '*'")
            if key != "*" and key not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(
                    f"sender key {key!r}: not a country code; expected a two-letter ISO code such as "
                    "FR, US or KE, or '*' for every other country"
                )
        return value

    @model_validator(mode="after")
    def _canonical_senders(self) -> CampaignSpec:
        """Sender ids in their one stored form (`smslab.identity`): numbers E.164 with +, short
        codes digits, alphanumeric ids as written."""
        for cc, sender in self.senders.items():
            region = self.default_region if cc == "*" else cc
            if sender.type != "alphanumeric" and not re.fullmatch(r"\+?[\d\s\-().]+", sender.id):
                raise ValueError(
                    f"senders.{cc}.id: {sender.id!r} is not a number; a {sender.type} sender id is "
                    f"digits (e.g. '36180' or '+33612345678'); use type alphanumeric for a name"
                )
            sender.id = identity.address(sender.id, region, sender.type)
            if sender.type in ("long_code", "toll_free") and not identity.possible_number(sender.id):
                raise ValueError(
                    f"senders.{cc}.id: {sender.id!r} is not a phone number; write a {sender.type} "
                    f"sender in international form, e.g. '+33612345678'"
                )
            if sender.opt_out_short_code is not None:
                sender.opt_out_short_code = identity.address(sender.opt_out_short_code, region, "short_code")
        return self

    @property
    def campaign_id(self) -> str:
        """A stable id: the name as a slug (re-running a spec never creates a second campaign)."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    @property
    def audience_path(self) -> Path:
        path = Path(self.audience)
        return path if path.is_absolute() else self.base_dir / path

    @property
    def send_at_utc(self) -> datetime | None:
        if self.send_at is None:
            return None
        return self.send_at.astimezone(UTC).replace(tzinfo=None)

    def send_at_problem(self, now: datetime) -> str | None:
        """Why `send_at` cannot be used at `now` (UTC, naive), or None: a moment more than
        SEND_AT_TOLERANCE in the past is a mistake, never silently "now".

        Example:
            >>> spec = parse_spec({"name": "x", "purpose": "marketing", "audience": "a.csv", "senders": {},
            ...     "message": {"text": "hi"}, "send_at": "2026-12-01T15:00:00+01:00"})
            >>> spec.send_at_problem(datetime(2026, 12, 6, 9, 0))  # doctest: +NORMALIZE_WHITESPACE
            'send_at 2026-12-01T15:00:00+01:00 is 4 days 19:00 in the past; remove send_at to send now,
             or give a future time'
            >>> spec.send_at_problem(datetime(2026, 12, 1, 14, 3)) is None
            True
        """
        send_at = self.send_at_utc
        if send_at is None or send_at >= now - SEND_AT_TOLERANCE:
            return None
        ago = now - send_at
        days = f"{ago.days} day{'s' if ago.days != 1 else ''} " if ago.days else ""
        hours, rest = divmod(ago.seconds, 3600)
        return (
            f"send_at {self.send_at.isoformat()} is {days}{hours:02d}:{rest // 60:02d} in the past; "  # type: ignore[union-attr]
            f"remove send_at to send now, or give a future time"
        )

    def sender_for(self, region: str | None) -> Sender | None:
        """The sender for a region, else the '*' fallback, else None."""
        return self.senders.get(region or "") or self.senders.get("*")

    def two_way_for(self, region: str | None) -> bool:
        sender = self.sender_for(region)
        if sender is not None and sender.two_way is not None:
            return sender.two_way
        return self.two_way

    def variant_names(self) -> list[str]:
        return ["A", *sorted(self.message.variants)]

    def variant_for(self, msisdn: str) -> str:
        """Deterministic A/B assignment: the same recipient always gets the same variant."""
        names = self.variant_names()
        if len(names) == 1:
            return "A"
        digest = hashlib.sha1(f"{self.campaign_id}|{msisdn}".encode()).digest()
        return names[int.from_bytes(digest[:4], "big") % len(names)]

    def text_for(self, region: str | None, variant: str = "A") -> str:
        """The text a recipient in `region` gets for `variant`.

        A variant's own per-country text wins; a plain variant text replaces the campaign
        text only where the country has no text of its own (legal wording stays intact).
        """
        region = region or ""
        chosen = self.message.variants.get(variant) if variant != "A" else None
        if chosen is not None:
            if region in chosen.by_country:
                return chosen.by_country[region]
            if region not in self.message.by_country:
                return chosen.text
        return self.message.by_country.get(region, self.message.text)

    def to_json_dict(self) -> dict[str, Any]:
        """The spec as stored in the database: relative paths resolved against the spec's folder,
        so a stored campaign still finds its audience and rules override from anywhere."""
        data = self.model_dump(mode="json")
        for name in ("audience", "rules"):
            if data.get(name) and not Path(data[name]).is_absolute():
                data[name] = str((self.base_dir / data[name]).resolve())
        return data


def parse_spec(data: Any, *, source: str = "<spec>", base_dir: Path | None = None) -> CampaignSpec:
    """Validate a spec given as a dict; a SpecError names the field and what was expected."""
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: expected a mapping of fields (name, purpose, audience, …), got {type(data).__name__}"
        )
    try:
        spec = CampaignSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{source}: {describe(exc, extra=UNKNOWN_FIELD)}") from None
    spec.base_dir = base_dir or Path(".")
    spec.source = source
    return spec


def load_spec(path: str | os.PathLike[str] | CampaignSpec) -> CampaignSpec:
    """Read and validate a campaign spec file (or pass a spec through)."""
    if isinstance(path, CampaignSpec):
        return path
    path = Path(path)
    data = read_yaml(path, error=SpecError, what="spec file")
    return parse_spec(data, source=str(path), base_dir=path.parent.resolve())


def stored_senders(
    con: Any, *, purpose: str | None = None
) -> Iterator[tuple[str, dict[str, Any], str, dict[str, Any]]]:
    """(campaign_id, spec data, country key, sender) for every sender of every campaign stored in
    the database (optionally of one purpose); unreadable specs and senders without an id are skipped.

    Example:
        >>> import duckdb
        >>> con = duckdb.connect()
        >>> _ = con.execute("CREATE TABLE campaigns(campaign_id VARCHAR, purpose VARCHAR, spec VARCHAR)")
        >>> spec = '{"senders": {"FR": {"id": "36180"}}}'
        >>> _ = con.execute("INSERT INTO campaigns VALUES ('c', 'marketing', ?)", [spec])
        >>> [(c, cc, s["id"]) for c, _, cc, s in stored_senders(con)]
        [('c', 'FR', '36180')]
    """
    sql, params = "SELECT campaign_id, spec FROM campaigns", []
    if purpose is not None:
        sql, params = sql + " WHERE purpose = ?", [purpose]
    for campaign_id, spec in con.execute(sql, params).fetchall():
        try:
            data = json.loads(spec) if isinstance(spec, str) else (spec or {})
            senders = list((data.get("senders") or {}).items())
        except (ValueError, AttributeError):
            continue
        for cc, sender in senders:
            if isinstance(sender, dict) and sender.get("id") is not None:
                yield campaign_id, data, cc, sender
