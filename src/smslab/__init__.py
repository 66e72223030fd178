"""smslab — plan, check, send and analyse two-way SMS campaigns in many countries.

The main entry points, in the order of a campaign (plan → check → send → receive → load →
analyse → report), are importable from here; each is imported on first use (PEP 562), so
`import smslab` stays fast and pulls in neither pandas nor DuckDB.

Example:
    >>> import smslab
    >>> smslab.send is smslab.sending.send
    True
    >>> from importlib.metadata import version
    >>> smslab.__version__ == version("smslab")
    True
"""

from __future__ import annotations

import importlib

from smslab.errors import (
    AuthenticationError,
    DatabaseLockedError,
    InputError,
    NotAvailableError,
    ProviderError,
    SmslabError,
    SpecError,
    TransientError,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a third of `import smslab`)

# public name -> "module:attribute", imported when first asked for
_LAZY = {
    # plan
    "load_spec": "smslab.campaign:load_spec",
    "normalize_file": "smslab.numbers:normalize_file",
    "plan": "smslab.pricing:plan",
    "campaign_cost": "smslab.pricing:campaign_cost",
    "load_rules": "smslab.rules:load",
    # check
    "check": "smslab.compliance:check",
    # send
    "send": "smslab.sending:send",
    # receive
    "serve": "smslab.receiving.webhooks:serve",
    # load
    "connect": "smslab.store:connect",
    "load": "smslab.receiving.journal_load:load",
    "ingest": "smslab.receiving.file_ingest:ingest",
    "import_conversions": "smslab.conversions:import_conversions",
    # analyse
    "funnel": "smslab.analytics:funnel",
    "cost_per_outcome": "smslab.analytics:cost_per_outcome",
    # report
    "list_reports": "smslab.reporting:list_reports",
    "run_report": "smslab.reporting:run_report",
    # all of it, simulated (not `demo`: that name is the module smslab.demo)
    "run_demo": "smslab.demo:demo",
}

__all__ = [
    "load_spec",
    "normalize_file",
    "plan",
    "campaign_cost",
    "load_rules",
    "check",
    "send",
    "serve",
    "connect",
    "load",
    "ingest",
    "import_conversions",
    "funnel",
    "cost_per_outcome",
    "list_reports",
    "run_report",
    "run_demo",
    "SmslabError",
    "SpecError",
    "InputError",
    "NotAvailableError",
    "ProviderError",
    "DatabaseLockedError",
    "TransientError",
    "AuthenticationError",
    "__version__",
]

if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from smslab.analytics import cost_per_outcome, funnel
    from smslab.campaign import load_spec
    from smslab.compliance import check
    from smslab.conversions import import_conversions
    from smslab.demo import demo as run_demo
    from smslab.numbers import normalize_file
    from smslab.pricing import campaign_cost, plan
    from smslab.receiving.file_ingest import ingest
    from smslab.receiving.journal_load import load
    from smslab.receiving.webhooks import serve
    from smslab.reporting import list_reports, run_report
    from smslab.rules import load as load_rules
    from smslab.sending import send
    from smslab.store import connect

    __version__: str


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import version

        value: object = version("smslab")  # the one source: pyproject.toml's [project] version
    elif name in _LAZY:
        module, _, attribute = _LAZY[name].partition(":")
        value = getattr(importlib.import_module(module), attribute)
    else:
        raise AttributeError(f"module 'smslab' has no attribute {name!r}")
    globals()[name] = value  # once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
