"""Shared fixtures: every test gets its own database, journal and reports folder."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path, monkeypatch):
    """Point SMSLAB_DB / SMSLAB_LANDING / SMSLAB_REPORTS at a temporary folder."""
    monkeypatch.setenv("SMSLAB_DB", str(tmp_path / "smslab.duckdb"))
    monkeypatch.setenv("SMSLAB_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("SMSLAB_REPORTS", str(tmp_path / "reports"))
    monkeypatch.delenv("SMSLAB_RULES", raising=False)
    return tmp_path
