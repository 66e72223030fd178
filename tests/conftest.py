"""Shared fixtures: every test gets its own database, journal and reports folder."""
from __future__ import annotations

import pytest

from pathlib import Path

from smslab import store

FROZEN_RULES = Path(__file__).parent / "fixtures" / "rules_v1"


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path, monkeypatch):
    """Point SMSLAB_DB / SMSLAB_LANDING / SMSLAB_REPORTS at a temporary folder."""
    monkeypatch.setenv("SMSLAB_DB", str(tmp_path / "smslab.duckdb"))
    monkeypatch.setenv("SMSLAB_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("SMSLAB_REPORTS", str(tmp_path / "reports"))
    monkeypatch.delenv("SMSLAB_RULES", raising=False)
    # engine tests run on a frozen copy of the 2026-11-24 schema-1 dataset, so a change of the
    # facts in data/rules never changes what a mechanics test means; tests of the dataset itself
    # take the `real_rules` fixture
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
