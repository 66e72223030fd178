"""Shared fixtures: every test gets its own database, journal and reports folder."""
from __future__ import annotations

import pytest

from smslab import store


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path, monkeypatch):
    """Point SMSLAB_DB / SMSLAB_LANDING / SMSLAB_REPORTS at a temporary folder."""
    monkeypatch.setenv("SMSLAB_DB", str(tmp_path / "smslab.duckdb"))
    monkeypatch.setenv("SMSLAB_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("SMSLAB_REPORTS", str(tmp_path / "reports"))
    monkeypatch.delenv("SMSLAB_RULES", raising=False)
    return tmp_path


@pytest.fixture
def con(tmp_path):
    """A DuckDB store on disk in the test's folder, closed afterwards."""
    c = store.connect(tmp_path / "test.duckdb")
    yield c
    c.close()
