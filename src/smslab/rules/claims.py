"""A schema-2 rules file (docs/rules-format.md): its sources and their claims, validated.

`parse_file` checks everything and reports every problem as one line naming the file, the
country, the place (`claims[12].value.max`, `sources.t-fr.url`) and the fix; `problems` returns
those lines, `parse_file` raises an `InputError` with the first (and how many more).

Example:
    >>> data = {"schema": 2, "country": "FR", "name": "France", "time_zones": ["Europe/Paris"],
    ...     "languages": ["fr"], "sources": {"af2m": {"url": "https://af2m.org/sms-marketing",
    ...     "title": "AF2M: SMS marketing", "publisher": "AF2M", "kind": "operator",
    ...     "checked": "2026-12-06", "read_as": "live page"}},
    ...     "claims": [{"fact": "quiet_hours.holidays", "value": "excluded", "source": "af2m",
    ...     "quote": "pas les dimanches et jours fériés"}]}
    >>> parse_file(data, "FR.yaml").claims[0].value
    'excluded'
    >>> cap = {"max": 3, "period_hours": 24, "per": "brand"}
    >>> problems({**data, "claims": [{"fact": "caps", "value": cap, "source": "x", "quote": "q"}]}, "FR.yaml")
    ["FR.yaml: country FR: claims[0].source: 'x' is not a key of sources"]
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smslab.errors import InputError
from smslab.rules.facts import SOURCE_KINDS, Purpose, SenderType, default_purposes, takes_sender_types, value_type

KEY = r"^[a-z0-9][a-z0-9_.-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """A specific page, who published it, what kind of source it is, when it was read and how."""

    url: str
    title: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    kind: Literal[SOURCE_KINDS]  # type: ignore[valid-type]
    published: date | None = None
    checked: date
    read_as: str = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _specific_page(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        if parts.path.strip("/") == "" and not parts.query:
            raise ValueError(f"{value!r} is a bare domain; cite the specific page")
        return value


class Claim(_Strict):
    """One source saying one thing; `value` is checked against the fact's type (rules.facts)."""

    fact: str
    value: Any
    source: str
    quote: str = Field(min_length=1, max_length=300)
    reading: str | None = None
    effective_from: date | None = None
    effective_until: date | None = None
    applies_to: list[Purpose] | None = Field(default=None, min_length=1)
    region: str | None = None
    sender_types: list[SenderType] | None = Field(default=None, min_length=1)

    def in_force(self, day: date) -> bool:
        """effective_from <= day < effective_until (either bound may be open)."""
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_until is None or day < self.effective_until
        )

    @property
    def purposes(self) -> tuple[Purpose, ...]:
        return tuple(self.applies_to) if self.applies_to else default_purposes(self.fact)


class Subdivision(_Strict):
    name: str = Field(min_length=1)


class RulesFile(_Strict):
    """A validated schema-2 file; `claims` keep the file's order (claims[i] is the i-th)."""

    schema_: Literal[2] = Field(alias="schema")
    country: str = Field(pattern=r"^[A-Z]{2}$")
    name: str = Field(min_length=1)
    time_zones: list[str] = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    sources: dict[str, Source] = Field(min_length=1)
    claims: list[Claim]
    subdivisions: dict[str, Subdivision] = {}

    @field_validator("time_zones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        unknown = [z for z in value if z not in available_timezones()]
        if unknown:
            raise ValueError(f"not IANA time zones: {', '.join(unknown)}")
        return value


def _place(loc: tuple, base: str) -> str:
    out = base
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith("function-"):
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _lines(exc: ValidationError, prefix: str, base: str = "") -> list[str]:
    """One `prefix place: problem` line per pydantic error (`base` starts the place)."""
    out = []
    for err in exc.errors():
        where = _place(tuple(err["loc"]), base)
        if err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "literal_error":
            message = f"expected {err['ctx']['expected']}, got {err.get('input')!r}"
        else:
            message = err["msg"].removeprefix("Value error, ")
        out.append(f"{prefix}{where}: {message}")
    return out


def _claim_problems(i: int, raw: Any, data: dict, keys: set[str], sources: dict) -> tuple[list[str], Claim | None]:
    here = f"claims[{i}]"
    if not isinstance(raw, dict):
        return [f"{here}: expected a mapping (fact, value, source, quote)"], None
    try:
        claim = Claim.model_validate(raw)
    except ValidationError as exc:
        return _lines(exc, "", here), None
    out: list[str] = []
    checker = value_type(claim.fact)
    value = claim.value
    if checker is None:
        out.append(f"{here}.fact: unknown fact {claim.fact!r} (see the table in docs/rules-format.md)")
    else:
        try:
            value = checker.validate_python(claim.value)
        except ValidationError as exc:
            out.extend(_lines(exc, "", f"{here}.value"))
    if claim.source not in keys:
        out.append(f"{here}.source: {claim.source!r} is not a key of sources")
    elif claim.fact.endswith(".offered") and sources.get(claim.source, {}).get("kind") != "provider":
        out.append(
            f"{here}.source: {claim.fact} is a provider's claim; source {claim.source!r} is not of kind provider"
        )
    if claim.effective_from and claim.effective_until and claim.effective_until <= claim.effective_from:
        out.append(
            f"{here}.effective_until: {claim.effective_until} is not after effective_from {claim.effective_from}"
        )
    if claim.region is not None and claim.region not in (data.get("subdivisions") or {}):
        out.append(f"{here}.region: {claim.region!r} is not a key of subdivisions")
    if claim.sender_types is not None and not takes_sender_types(claim.fact):
        out.append(
            f"{here}.sender_types: only opt_out.wording, message.required_elements and sender_id.* take sender_types"
        )
    return out, (claim.model_copy(update={"value": value}) if not out else None)


def _check(data: Any, where: str, expected_cc: str | None) -> tuple[list[str], RulesFile | None]:
    cc = expected_cc or (data.get("country") if isinstance(data, dict) else None) or "?"
    prefix = f"{where}: country {cc}: "
    if not isinstance(data, dict):
        return [f"{prefix}expected a mapping (schema, country, name, sources, claims…)"], None
    out: list[str] = []
    if expected_cc is not None and data.get("country") != expected_cc:
        out.append(f"{prefix}country: is {data.get('country')!r}, expected {expected_cc!r} (the file name)")
    raw_sources: dict = data["sources"] if isinstance(data.get("sources"), dict) else {}
    for key in raw_sources:
        if not isinstance(key, str) or not re.match(KEY, key):
            out.append(f"{prefix}sources.{key}: a source key is short and lower-case (letters, digits, - _ .)")
    for code in data.get("subdivisions") or {}:
        if not (isinstance(code, str) and code.startswith(f"{data.get('country')}-") and 3 < len(code) <= 6):
            out.append(f"{prefix}subdivisions.{code}: expected an ISO 3166-2 code like {cc}-XX")
    header = {k: v for k, v in data.items() if k != "claims"}
    try:
        RulesFile.model_validate({**header, "claims": []})
    except ValidationError as exc:
        out.extend(_lines(exc, prefix))
    raw_claims = data.get("claims")
    if not isinstance(raw_claims, list):
        out.append(f"{prefix}claims: expected a list of claims")
        raw_claims = []
    claims = []
    for i, raw in enumerate(raw_claims):
        lines, claim = _claim_problems(i, raw, data, set(raw_sources), raw_sources)
        out.extend(prefix + line for line in lines)
        claims.append(claim)
    if out:
        return out, None
    return [], RulesFile.model_validate({**header, "claims": []}).model_copy(update={"claims": claims})


def problems(data: Any, where: str, *, cc: str | None = None) -> list[str]:
    """Every problem of a schema-2 file's parsed YAML, one line each ([] when valid)."""
    return _check(data, str(where), cc)[0]


def parse_file(data: Any, where: str, *, cc: str | None = None) -> RulesFile:
    """The validated file; an InputError with the first problem (and how many more) otherwise."""
    lines, parsed = _check(data, str(where), cc)
    if lines:
        more = f" (and {len(lines) - 1} more problem(s): smslab rules --check {where})" if len(lines) > 1 else ""
        raise InputError(lines[0] + more)
    assert parsed is not None
    return parsed


def check_files(paths) -> dict[str, list[str]]:
    """Every problem of each schema-2 file (by path), one line each; [] for a valid file.

    Example:
        >>> check_files(["tests/fixtures/rules_v2/FR.yaml"])
        {'tests/fixtures/rules_v2/FR.yaml': []}
    """
    from pathlib import Path

    from smslab.yamlfiles import read_yaml

    out: dict[str, list[str]] = {}
    for path in paths:
        try:
            data = read_yaml(path, what="rules file")
        except InputError as exc:
            out[str(path)] = [str(exc)]
            continue
        stem = Path(path).stem
        out[str(path)] = problems(data, str(path), cc=stem if len(stem) == 2 and stem.isupper() else None)
    return out
