"""pytest configuration for the whole repository (tests/conftest.py holds the tests' fixtures).

tests/conftest.py points SMSLAB_RULES_DIR at a frozen copy of the rules dataset for the whole
session. The doctests of src/smslab document what a user gets, so they read the built-in dataset.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _doctests_read_the_builtin_rules(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.delenv("SMSLAB_RULES_DIR", raising=False)
        monkeypatch.delenv("SMSLAB_RULES", raising=False)
