"""Shared fixtures: every test gets its own database, journal and reports folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smslab import store

FROZEN_RULES = Path(__file__).parent / "fixtures" / "rules_v1"
# engine tests run on a frozen copy of the 2026-11-24 schema-1 dataset, so a change of the facts
# in data/rules never changes what a mechanics test means (set for the whole session, so module
# fixtures and the subprocesses tests start see it too); tests of the dataset take `real_rules`
os.environ["SMSLAB_RULES_DIR"] = str(FROZEN_RULES)


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path, monkeypatch):
    """Point SMSLAB_DB / SMSLAB_LANDING / SMSLAB_REPORTS at a temporary folder."""
    monkeypatch.setenv("SMSLAB_DB", str(tmp_path / "smslab.duckdb"))
    monkeypatch.setenv("SMSLAB_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("SMSLAB_REPORTS", str(tmp_path / "reports"))
    monkeypatch.delenv("SMSLAB_RULES", raising=False)
    monkeypatch.setenv("SMSLAB_RULES_DIR", str(FROZEN_RULES))
    return tmp_path


@pytest.fixture
def real_rules(monkeypatch):
    """Use the shipped dataset (data/rules), not the frozen test copy."""
    monkeypatch.delenv("SMSLAB_RULES_DIR", raising=False)


@pytest.fixture
def con(tmp_path):
    """A DuckDB store on disk in the test's folder, closed afterwards."""
    c = store.connect(tmp_path / "test.duckdb")
    yield c
    c.close()
