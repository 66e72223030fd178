"""Every path and setting in one place; secrets only from the environment or a `.env` file.

Example:
    >>> from smslab import config
    >>> config.db_path().name
    'smslab.duckdb'
"""

from __future__ import annotations

import os
from pathlib import Path

try:  # a .env in the working directory, if present, fills unset variables
    from dotenv import load_dotenv

    load_dotenv(override=False)
except ImportError:  # pragma: no cover - python-dotenv is a dependency
    pass

PACKAGE_DIR = Path(__file__).resolve().parent


def project_dir() -> Path:
    """The project folder: `SMSLAB_HOME`, else the checkout this package sits in, else the cwd."""
    if os.environ.get("SMSLAB_HOME"):
        return Path(os.environ["SMSLAB_HOME"]).resolve()
    candidate = PACKAGE_DIR.parent.parent  # src/smslab -> checkout root
    if (candidate / "pyproject.toml").exists() and (candidate / "data").is_dir():
        return candidate
    return Path.cwd()


def data_dir() -> Path:
    """Built-in data (rules, pricing, samples) shipped with the project."""
    return project_dir() / "data"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: the argument, else `SMSLAB_DB`, else data/smslab.duckdb."""
    if explicit:
        return Path(explicit)
    if os.environ.get("SMSLAB_DB"):
        return Path(os.environ["SMSLAB_DB"])
    return data_dir() / "smslab.duckdb"


def landing_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The webhook journal: the argument, else `SMSLAB_LANDING`, else data/landing."""
    if explicit:
        return Path(explicit)
    if os.environ.get("SMSLAB_LANDING"):
        return Path(os.environ["SMSLAB_LANDING"])
    return data_dir() / "landing"


def reports_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where exported HTML goes: the argument, else `SMSLAB_REPORTS`, else reports/."""
    if explicit:
        return Path(explicit)
    if os.environ.get("SMSLAB_REPORTS"):
        return Path(os.environ["SMSLAB_REPORTS"])
    return project_dir() / "reports"


def notebooks_dir() -> Path:
    """The parameterised notebooks that `smslab report run` executes."""
    return project_dir() / "notebooks"
