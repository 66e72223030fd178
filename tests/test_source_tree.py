"""The source tree keeps the shape docs/architecture.md describes: small modules of one concern,
each documented, and the facts that must be written once written once."""

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "smslab"
MODULES = sorted(SRC.rglob("*.py"))
LIMIT = 500


def _relative(path: Path) -> str:
    return str(path.relative_to(SRC.parent))


def test_the_tree_is_found():
    assert len(MODULES) > 80 and (SRC / "clock.py") in MODULES


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_every_module_is_short_and_documented(path):
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= LIMIT, f"{_relative(path)}: {lines} lines; split it by concern (at most {LIMIT})"
    assert ast.get_docstring(ast.parse(text)), f"{_relative(path)}: no module docstring"


def _offenders(pattern: str, allowed: set[str]) -> list[str]:
    found = []
    for path in MODULES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(pattern, line) and _relative(path) not in allowed:
                found.append(f"{_relative(path)}:{number}: {line.strip()}")
    return found


def test_now_in_utc_comes_from_the_one_clock():
    # a local wall-clock stamp for display (datetime.now().astimezone()) is not "now in UTC"
    assert (
        _offenders(
            r"datetime\.now\((tz=)?(UTC|timezone\.utc)\)|datetime\.utcnow\(|def utcnow\(",
            {"smslab/clock.py", "smslab/providers/__init__.py"},
        )
        == []
    )


def test_sql_text_is_quoted_in_one_place():
    assert _offenders(r"""replace\("'", "''"\)|replace\('"', '""'\)""", {"smslab/sql.py"}) == []


def test_the_checks_can_see_a_violation():
    # the patterns above are not vacuous: each matches the line it is meant to forbid
    assert re.search(r"datetime\.now\((tz=)?(UTC|timezone\.utc)\)", "x = datetime.now(UTC).replace(tzinfo=None)")
    assert re.search(r"""replace\("'", "''"\)""", """escaped = path.replace("'", "''")""")
