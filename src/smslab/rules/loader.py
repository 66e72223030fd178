"""Load the built-in rules (data/rules/*.yaml), merge a user override, validate.

An override is a YAML file with a `countries:` mapping; each entry is merged over the
built-in country (mappings merge key by key, lists and values replace). A country that is
not built in must be complete. Every problem becomes one `InputError` naming the file, the
country and the field.

Example:
    >>> from smslab.rules import load
    >>> rules = load()
    >>> rules.country("FR").quiet_hours.holidays
    'excluded'
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError

from smslab import config
from smslab.errors import InputError
from smslab.yamlfiles import describe, read_yaml

MISSING = "required field is missing (write null if unknown)"
from smslab.rules.schema import Country


def rules_dir() -> Path:
    """Where the built-in country files live."""
    return config.data_dir() / "rules"


@dataclass(frozen=True)
class RuleSet:
    """Validated rules by country code; `country(cc)` returns a `schema.Country` model.

    Example:
        >>> rs = load()
        >>> "KE" in rs, rs.country("KE").opt_out.alphanumeric_needs_short_code
        (True, True)
    """

    by_country: dict[str, Country]
    files: dict[str, str] = field(default_factory=dict)  # cc -> where it came from
    override: str | None = None

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


def _builtin_raw(directory: Path) -> dict[str, tuple[dict, str]]:
    raw: dict[str, tuple[dict, str]] = {}
    for path in sorted(directory.glob("*.yaml")):
        if not (len(path.stem) == 2 and path.stem.isalpha() and path.stem.isupper()):
            continue  # schema and notes files
        data = read_yaml(path, what="rules file")
        if not isinstance(data, dict):
            raise InputError(f"{path}: country {path.stem}: expected a mapping of fields")
        if data.get("country") != path.stem:
            raise InputError(f"{path}: country {path.stem}: field country is {data.get('country')!r}, "
                             f"expected {path.stem!r} (the file name)")
        raw[path.stem] = (data, str(path))
    return raw


_CACHE: dict[tuple, RuleSet] = {}


def _stamp(path: Path) -> tuple:
    try:
        st = path.stat()
        return (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return (str(path), None, None)


def load(override: str | os.PathLike[str] | None = None, *, directory: str | os.PathLike[str] | None = None) -> RuleSet:
    """The built-in rules merged with a user override (the argument, else `SMSLAB_RULES`).

    Results are cached until a file changes.
    """
    base_dir = Path(directory) if directory else rules_dir()
    chosen = override if override else (os.environ.get("SMSLAB_RULES") or None)
    over_path = Path(chosen) if chosen else None
    key = (str(base_dir), tuple(_stamp(p) for p in sorted(base_dir.glob("*.yaml"))),
           _stamp(over_path) if over_path else None)
    if key in _CACHE:
        return _CACHE[key]
    if not base_dir.is_dir():
        raise InputError(f"{base_dir}: rules folder not found")
    raw = _builtin_raw(base_dir)
    sources = {cc: where for cc, (_, where) in raw.items()}
    merged = {cc: data for cc, (data, _) in raw.items()}
    if over_path is not None:
        data = read_yaml(over_path, what="rules file")
        if data is None:
            data = {}
        if not isinstance(data, dict) or not isinstance(data.get("countries", {}), dict):
            raise InputError(f"{over_path}: an override is a mapping with 'countries: {{CC: {{field: value}}}}'")
        extra = sorted(set(data) - {"countries"})
        if extra:
            raise InputError(f"{over_path}: unknown top-level field {extra[0]!r} (expected 'countries')")
        for cc, entry in (data.get("countries") or {}).items():
            cc_key = str(cc)
            if not (len(cc_key) == 2 and cc_key.isalpha() and cc_key.isupper()):
                raise InputError(f"{over_path}: country {cc_key}: expected a two-letter upper-case code")
            if not isinstance(entry, dict):
                raise InputError(f"{over_path}: country {cc_key}: expected a mapping of fields")
            entry = {"country": cc_key, **entry}
            merged[cc_key] = merge(merged[cc_key], entry) if cc_key in merged else entry
            sources[cc_key] = f"{over_path} (over {sources[cc_key]})" if cc_key in sources else str(over_path)
    by_country = {}
    for cc, data in merged.items():
        by_country[cc] = validate_country(data, source=sources[cc], cc=cc)
        if by_country[cc].country != cc:
            raise InputError(f"{sources[cc]}: country {cc}: field country must be {cc!r}")
    result = RuleSet(by_country, sources, str(over_path) if over_path else None)
    _CACHE[key] = result
    return result
