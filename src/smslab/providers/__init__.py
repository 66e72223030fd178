"""Providers: one small interface, a named registry, and the offline `simulator` default.

A provider takes a batch of prepared messages and answers, for each, whether it was
accepted and under which provider message id. Throttling and retries are the sender's
job (smslab.sending), not the provider's.

Example:
    >>> from smslab.providers import get_provider, available
    >>> "simulator" in available()
    True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, Callable

from smslab.errors import ProviderError


@dataclass
class OutboundMessage:
    """A message ready to submit (one row of the outbox)."""

    message_id: str          # our idempotency key
    campaign_id: str
    msisdn: str              # E.164 with +
    region: str | None
    sender_type: str
    sender_id: str
    text: str
    encoding: str
    segments: int
    scheduled_at: datetime | None = None   # UTC; None = now
    two_way: bool = False
    opt_out_short_code: str | None = None


@dataclass
class SubmitResult:
    """What the provider said about one message."""

    message_id: str
    accepted: bool
    provider_message_id: str | None = None
    status: str = "submitted"               # normalised status after submission
    error_code: str | None = None
    permanent: bool = False                 # a permanent refusal is never retried
    price: float | None = None
    currency: str | None = None


@dataclass
class Provider:
    """Base class: subclasses implement `submit`."""

    name: str = "provider"
    idempotent: bool = False   # True when resubmitting the same message_id can never send twice
    options: dict[str, Any] = field(default_factory=dict)

    def submit(self, batch: list[OutboundMessage]) -> list[SubmitResult]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Release connections (SMPP binds, HTTP clients)."""


_REGISTRY: dict[str, Callable[..., Provider]] = {}


def register(name: str, factory: Callable[..., Provider]) -> None:
    """Make a provider available under `name` (plugins can also use the `smslab.providers` entry point)."""
    _REGISTRY[name] = factory


def _discover() -> None:
    for ep in entry_points(group="smslab.providers"):
        if ep.name not in _REGISTRY:
            _REGISTRY[ep.name] = ep.load()
    if "simulator" not in _REGISTRY:  # running from a source tree without installed metadata
        from smslab.providers.simulator import SimulatorProvider

        _REGISTRY["simulator"] = SimulatorProvider


def available() -> list[str]:
    """Names of every registered provider."""
    _discover()
    return sorted(_REGISTRY)


def get_provider(name: str, **options: Any) -> Provider:
    """An instance of the provider called `name`; ProviderError names the known ones otherwise."""
    _discover()
    if name not in _REGISTRY:
        raise ProviderError(f"no provider named {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name](**options)
