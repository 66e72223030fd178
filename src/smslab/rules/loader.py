"""Load the built-in rules (data/rules/*.yaml), merge a user override, validate.

A built-in file is schema 2 (`schema: 2`: sources and their claims, see docs/rules-format.md),
from which the rule in force on a given day is derived (`rules.derive`), or schema 1 (every
field written by hand, kept until the data switch). An override is a YAML file with a
`countries:` mapping; each entry is merged over the EFFECTIVE country (after derivation):
mappings merge key by key, lists and values replace, and `Country.overridden` lists the fields
it set. A country that is not built in must be complete. Every problem becomes one
`InputError` naming the file, the country and the field.

Example:
    >>> from smslab.rules import load
    >>> rules = load()
    >>> rules.country("FR").quiet_hours.holidays
    'excluded'
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from smslab import config
from smslab.clock import utcnow
from smslab.errors import InputError
from smslab.rules.claims import RulesFile, parse_file
from smslab.rules.derive import derive_claims, in_force
from smslab.rules.schema import Country
from smslab.yamlfiles import describe, read_yaml

MISSING = "required field is missing (write null if unknown)"


def rules_dir() -> Path:
    """Where the built-in country files live: `SMSLAB_RULES_DIR` if set (a folder of country
    files used instead, e.g. a frozen copy for tests), else data/rules."""
    if os.environ.get("SMSLAB_RULES_DIR"):
        return Path(os.environ["SMSLAB_RULES_DIR"])
    return config.data_dir() / "rules"


def day_of(moment: date | datetime | str | None) -> date:
    """The day a moment falls on: a date as is, an aware datetime in UTC, a naive one as UTC, an
    ISO text ("2026-12-06" or a full moment) parsed first; None = today (UTC)."""
    if moment is None:
        return utcnow().date()
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{moment!r}: expected a day like 2026-12-06 or an ISO 8601 moment") from None
    if isinstance(moment, datetime):
        return (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    return moment


@dataclass(frozen=True)
class RuleSet:
    """Validated rules by country code, in force on `day`; `country(cc)` returns a `schema.Country`.

    `at(moment)` gives the rules in force on another day (derived once per distinct set of
    claims in force). Schema-1 countries are the same on every day.

    Example:
        >>> rs = load()
        >>> "KE" in rs, rs.country("FR").quiet_hours.sundays_excluded
        (True, True)
        >>> rs.at(date(2030, 1, 1)).day
        datetime.date(2030, 1, 1)
    """

    by_country: dict[str, Country]
    files: dict[str, str] = field(default_factory=dict)  # cc -> where it came from
    override: str | None = None
    day: date | None = None
    claim_files: dict[str, RulesFile] = field(default_factory=dict, repr=False)  # schema-2 countries
    overrides: dict[str, dict] = field(default_factory=dict, repr=False)  # cc -> override entry (schema 2)
    _derived: dict = field(default_factory=dict, repr=False, compare=False)  # (cc, claims in force) -> Country

    def country(self, cc: str) -> Country:
        """The rules of a country; `KeyError` if the dataset has none (check with `in`)."""
        key = (cc or "").upper()
        if key not in self.by_country:
            raise KeyError(f"no rules for country {cc!r}")
        return self.by_country[key]

    def get(self, cc: str | None) -> Country | None:
        return self.by_country.get((cc or "").upper())

    def countries(self) -> list[str]:
        return sorted(self.by_country)

    def __contains__(self, cc: object) -> bool:
        return isinstance(cc, str) and cc.upper() in self.by_country

    def __iter__(self) -> Iterator[str]:
        return iter(self.countries())

    def __len__(self) -> int:
        return len(self.by_country)

    def at(self, moment: date | datetime | str) -> RuleSet:
        """The rules in force on the day of `moment` (see `day_of`)."""
        day = day_of(moment)
        by_country = dict(self.by_country)
        for cc in self.claim_files:
            by_country[cc] = self._derive(cc, day)
        return replace(self, by_country=by_country, day=day)

    def _derive(self, cc: str, day: date) -> Country:
        rules_file = self.claim_files[cc]
        key = (cc, in_force(rules_file, day))
        if key not in self._derived:
            country = derive_claims(rules_file, [rules_file.claims[i] for i in key[1]], day)
            if cc in self.overrides:
                country = apply_override(country, self.overrides[cc], source=self.override or "override")
            self._derived[key] = country
        return self._derived[key].model_copy(update={"effective_on": day})


def validate_country(data: Any, *, source: str, cc: str) -> Country:
    """Validate one country's mapping; an InputError names the file, the country and the field."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: country {cc}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return Country.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{source}: country {cc}: {describe(exc, missing=MISSING)}") from None


def merge(base: Any, over: Any) -> Any:
    """Deep-merge `over` onto `base`: mappings key by key; anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def overridden_paths(entry: Any, prefix: str = "") -> list[str]:
    """The dotted fields an override entry sets: mappings are followed, anything else is a leaf.

    Example:
        >>> overridden_paths({"quiet_hours": {"allowed": {"sat": ["08:00-20:30"]}}, "name": "X"})
        ['name', 'quiet_hours.allowed.sat']
    """
    if not isinstance(entry, dict) or not entry:
        return [prefix] if prefix else []
    return sorted(
        p
        for key, value in entry.items()
        for p in overridden_paths(value, f"{prefix}{key}" if not prefix else f"{prefix}.{key}")
    )


def _consistent(data: dict, entry: dict) -> dict:
    """Keep derived twins in step with what an override set: sundays_excluded with allowed.sun,
    opt_out.wordings with wording_required/wording_pattern/wording_example."""
    qh, oo = data.get("quiet_hours"), data.get("opt_out")
    over_qh, over_oo = entry.get("quiet_hours") or {}, entry.get("opt_out") or {}
    if isinstance(qh, dict) and "allowed" in over_qh and "sundays_excluded" not in over_qh:
        qh["sundays_excluded"] = None if qh.get("allowed") is None else qh["allowed"].get("sun") == []
    touched = {"wording_required", "wording_pattern", "wording_example"} & set(over_oo)
    if isinstance(oo, dict) and touched and "wordings" not in over_oo:
        oo["wordings"] = (
            [
                {
                    "required": bool(oo.get("wording_required")),
                    "patterns": [oo["wording_pattern"]],
                    "example": oo.get("wording_example"),
                    "sender_types": None,
                    "sources": [],
                }
            ]
            if oo.get("wording_pattern")
            else []
        )
    return data


def apply_override(country: Country, entry: dict, *, source: str) -> Country:
    """An override entry merged over an effective country; `overridden` lists what it set."""
    paths = overridden_paths(entry)
    data = _consistent(merge(country.model_dump(), entry), entry)
    data["overridden"] = sorted(set(country.overridden) | set(paths))
    data["override_file"] = source
    return validate_country(data, source=source, cc=country.country)


def _builtin_raw(directory: Path) -> dict[str, tuple[dict, str]]:
    raw: dict[str, tuple[dict, str]] = {}
    for path in sorted(directory.glob("*.yaml")):
        if not (len(path.stem) == 2 and path.stem.isalpha() and path.stem.isupper()):
            continue  # schema and notes files
        data = read_yaml(path, what="rules file")
        if not isinstance(data, dict):
            raise InputError(f"{path}: country {path.stem}: expected a mapping of fields")
        if "schema" in data and data["schema"] != 2:
            raise InputError(
                f"{path}: country {path.stem}: schema: {data['schema']!r} is not known "
                f"(2, or no schema field for the hand-written schema 1)"
            )
        if data.get("country") != path.stem:
            raise InputError(
                f"{path}: country {path.stem}: field country is {data.get('country')!r}, "
                f"expected {path.stem!r} (the file name)"
            )
        raw[path.stem] = (data, str(path))
    return raw


_CACHE: dict[tuple, RuleSet] = {}


def _stamp(path: Path) -> tuple:
    try:
        st = path.stat()
        return (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return (str(path), None, None)


def _read_override(over_path: Path) -> dict[str, dict]:
    data = read_yaml(over_path, what="rules file")
    if data is None:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("countries", {}), dict):
        raise InputError(f"{over_path}: an override is a mapping with 'countries: {{CC: {{field: value}}}}'")
    extra = sorted(set(data) - {"countries"})
    if extra:
        raise InputError(f"{over_path}: unknown top-level field {extra[0]!r} (expected 'countries')")
    out = {}
    for cc, entry in (data.get("countries") or {}).items():
        cc_key = str(cc)
        if not (len(cc_key) == 2 and cc_key.isalpha() and cc_key.isupper()):
            raise InputError(f"{over_path}: country {cc_key}: expected a two-letter upper-case code")
        if not isinstance(entry, dict):
            raise InputError(f"{over_path}: country {cc_key}: expected a mapping of fields")
        out[cc_key] = entry
    return out


def _base(base_dir: Path, over_path: Path | None) -> RuleSet:
    """Every file read and validated; schema-1 countries built, schema-2 ones ready to derive."""
    if not base_dir.is_dir():
        raise InputError(f"{base_dir}: rules folder not found")
    raw = _builtin_raw(base_dir)
    sources = {cc: where for cc, (_, where) in raw.items()}
    claim_files = {cc: parse_file(data, where, cc=cc) for cc, (data, where) in raw.items() if "schema" in data}
    merged = {cc: data for cc, (data, _) in raw.items() if cc not in claim_files}
    overrides = _read_override(over_path) if over_path is not None else {}
    for cc, entry in overrides.items():
        stamp = {"overridden": overridden_paths(entry), "override_file": str(over_path)}
        if cc in claim_files:
            pass  # applied after each derivation
        elif cc in merged:
            merged[cc] = {**merge(merged[cc], {"country": cc, **entry}), **stamp}
        else:
            merged[cc] = {"country": cc, **entry, **stamp}
        sources[cc] = f"{over_path} (over {sources[cc]})" if cc in sources else str(over_path)
    by_country = {}
    for cc, data in merged.items():
        by_country[cc] = validate_country(data, source=sources[cc], cc=cc)
        if by_country[cc].country != cc:
            raise InputError(f"{sources[cc]}: country {cc}: field country must be {cc!r}")
    return RuleSet(
        by_country,
        sources,
        str(over_path) if over_path else None,
        None,
        claim_files,
        {cc: e for cc, e in overrides.items() if cc in claim_files},
    )


def load(
    override: str | os.PathLike[str] | None = None,
    *,
    directory: str | os.PathLike[str] | None = None,
    at: date | datetime | None = None,
) -> RuleSet:
    """The built-in rules merged with a user override (the argument, else `SMSLAB_RULES`),
    in force on the day of `at` (default: today, UTC).

    Files are read and validated once, until one changes; each day's rules are derived once.
    """
    base_dir = Path(directory) if directory else rules_dir()
    chosen = override if override else (os.environ.get("SMSLAB_RULES") or None)
    over_path = Path(chosen) if chosen else None
    key = (
        str(base_dir),
        tuple(_stamp(p) for p in sorted(base_dir.glob("*.yaml"))),
        _stamp(over_path) if over_path else None,
    )
    if key not in _CACHE:
        _CACHE[key] = _base(base_dir, over_path)
    day = day_of(at)
    dated = (key, day)
    if dated not in _CACHE:
        _CACHE[dated] = _CACHE[key].at(day)
    return _CACHE[dated]
