"""`import smslab`: the main entry points with a tested `__all__`, imported lazily; the version from
the package metadata only."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import smslab

# Where each public name lives (written here by hand, not read from smslab): name -> (module, attribute).
HOMES = {
    "load_spec": ("smslab.campaign", "load_spec"),
    "normalize_file": ("smslab.numbers", "normalize_file"),
    "plan": ("smslab.pricing", "plan"),
    "campaign_cost": ("smslab.pricing", "campaign_cost"),
    "load_rules": ("smslab.rules", "load"),
    "check": ("smslab.compliance", "check"),
    "send": ("smslab.sending", "send"),
    "serve": ("smslab.receiving.webhooks", "serve"),
    "connect": ("smslab.store", "connect"),
    "load": ("smslab.receiving.journal_load", "load"),
    "ingest": ("smslab.receiving.file_ingest", "ingest"),
    "import_conversions": ("smslab.conversions", "import_conversions"),
    "funnel": ("smslab.analytics", "funnel"),
    "cost_per_outcome": ("smslab.analytics", "cost_per_outcome"),
    "list_reports": ("smslab.reporting", "list_reports"),
    "run_report": ("smslab.reporting", "run_report"),
    "run_demo": ("smslab.demo", "demo"),
    "SmslabError": ("smslab.errors", "SmslabError"),
    "SpecError": ("smslab.errors", "SpecError"),
    "InputError": ("smslab.errors", "InputError"),
    "NotAvailableError": ("smslab.errors", "NotAvailableError"),
    "ProviderError": ("smslab.errors", "ProviderError"),
    "DatabaseLockedError": ("smslab.errors", "DatabaseLockedError"),
    "TransientError": ("smslab.errors", "TransientError"),
    "AuthenticationError": ("smslab.errors", "AuthenticationError"),
}
SRC = Path(__file__).resolve().parent.parent / "src"


def test_all_is_exactly_the_documented_names() -> None:
    assert sorted(smslab.__all__) == sorted([*HOMES, "__version__"])
    assert len(set(smslab.__all__)) == len(smslab.__all__)


@pytest.mark.parametrize("name", sorted(HOMES))
def test_each_name_is_its_home_modules_object(name: str) -> None:
    module, attribute = HOMES[name]
    home = getattr(importlib.import_module(module), attribute)
    assert getattr(smslab, name) is home
    assert callable(home)
    assert name in dir(smslab)


def test_star_import_gives_every_name() -> None:
    namespace: dict = {}
    exec("from smslab import *", namespace)
    assert set(smslab.__all__) <= set(namespace)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'sned'"):
        smslab.sned  # noqa: B018


def test_version_is_the_installed_metadata() -> None:
    assert smslab.__version__ == importlib.metadata.version("smslab")


def test_no_version_string_written_in_the_source() -> None:
    """pyproject.toml holds the version; nothing under src/ spells it out again."""
    version = importlib.metadata.version("smslab")
    written = [
        str(p)
        for p in SRC.rglob("*.py")
        if f'"{version}"' in p.read_text(encoding="utf-8") or f"'{version}'" in p.read_text(encoding="utf-8")
    ]
    assert written == []


def test_import_smslab_stays_light() -> None:
    """`import smslab` alone imports none of the heavy libraries, nor the modules behind the names."""
    code = (
        "import sys, smslab; heavy = ['pandas', 'duckdb', 'numpy', 'pyarrow', 'smslab.sending', "
        "'smslab.analytics', 'importlib.metadata']; print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
