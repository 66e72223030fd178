"""Reading YAML files and explaining validation errors in one line each.

Shared by the campaign spec and the rules dataset, so every YAML mistake reads the same way:
the file, the place, the problem.

Example:
    >>> from smslab.yamlfiles import read_yaml
    >>> read_yaml("missing.yaml")
    Traceback (most recent call last):
    ...
    smslab.errors.InputError: missing.yaml: no such file
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from smslab.errors import InputError


def read_yaml(path: str | Path, *, error: type[Exception] = InputError, what: str = "file") -> Any:
    """Parse a UTF-8 YAML file; `error` (an InputError by default) names the file and the line."""
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise error(f"{path}: no such {what}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise error(f"{path}: invalid YAML at {where}: {getattr(exc, 'problem', exc)}") from None


def describe(exc: ValidationError, *, missing: str = "required field is missing", extra: str = "unknown field") -> str:
    """The first pydantic error as `where: what` (plus how many more)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-")) or "(top level)"
    if first["type"] == "missing":
        message = missing
    elif first["type"] == "extra_forbidden":
        message = extra
    elif first["type"] == "literal_error":
        message = f"expected {first['ctx']['expected']}, got {first.get('input')!r}"
    else:
        message = first["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {message}{more}"
