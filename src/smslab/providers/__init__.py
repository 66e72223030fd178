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

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Literal, cast, overload

from smslab import config  # noqa: F401  (loads a .env file into unset variables)
from smslab.clock import utcnow
from smslab.errors import ProviderError


@overload
def env(name: str, default: str, *, required: bool = ...) -> str: ...
@overload
def env(name: str, default: None = None, *, required: Literal[True] = True) -> str: ...
@overload
def env(name: str, default: str | None = None, *, required: bool) -> str | None: ...
def env(name: str, default: str | None = None, *, required: bool = True) -> str | None:
    """A setting from the environment (or `.env`); a missing required one names the variable.

    Example:
        >>> env("SMSLAB_SURELY_UNSET", "fallback")
        'fallback'
    """
    value = os.environ.get(name) or default
    if required and not value:
        raise ProviderError(f"{name} is not set: export it or add it to a .env file")
    return value


@dataclass
class OutboundMessage:
    """A message ready to submit (one row of the outbox)."""

    message_id: str  # our idempotency key
    campaign_id: str
    msisdn: str  # E.164 with +
    region: str | None
    sender_type: str
    sender_id: str
    text: str
    encoding: str
    segments: int
    scheduled_at: datetime | None = None  # UTC; the run's moment for a message that goes now
    two_way: bool = False
    opt_out_short_code: str | None = None
    schedule: bool = False  # True: the provider holds it until scheduled_at (sendAt, SendAt)


@dataclass
class SubmitResult:
    """What the provider said about one message."""

    message_id: str
    accepted: bool
    provider_message_id: str | None = None
    status: str = "submitted"  # normalised status after submission
    error_code: str | None = None
    permanent: bool = False  # a permanent refusal is never retried
    price: float | None = None
    currency: str | None = None
    temporary: bool = False  # refused for now (throttled, queue full): the sender retries it
    parts: int | None = None  # segments the provider counted, when it says

    @property
    def uncertain(self) -> bool:
        """The provider may or may not have taken it (e.g. the connection died before its answer)."""
        return not self.accepted and self.status == "unknown"


@dataclass
class Provider:
    """Base class: subclasses implement `submit`."""

    name: str = "provider"
    idempotent: bool = False  # True when resubmitting the same message_id can never send twice
    options: dict[str, Any] = field(default_factory=dict)
    throttled: bool = True  # False for the offline simulator: there is no network to protect
    batch_size: int = 100  # the batch the sender hands over in one `submit` call
    clock: Callable[[], datetime] | None = field(default=None, repr=False)  # a replayed clock (demo, tests)

    def submit(self, batch: list[OutboundMessage]) -> list[SubmitResult]:  # pragma: no cover - interface
        raise NotImplementedError

    def utcnow(self) -> datetime:
        """Now in UTC without tzinfo: the wall clock, or the clock `sending.send(now=…)` replays."""
        if self.clock is not None:
            return self.clock()
        return utcnow()

    def preassigned_id(self, message_id: str) -> str | None:
        """The provider message id this message will get, when it is known before submission.

        Providers that take our id (Infobip's `messageId`) or derive theirs from it (the
        simulator) say so here; the outbox then stores it up front, and reports that arrive
        before the submission is recorded still find their message.
        """
        return None

    def preassigned_ids(self, message_ids: Any) -> Any:
        """`preassigned_id` for a pandas Series of ids (None when the provider assigns its own)."""
        if type(self).preassigned_id is Provider.preassigned_id:
            return None
        return message_ids.map(self.preassigned_id)

    def close(self) -> None:
        """Release connections (SMPP binds, HTTP clients)."""


_REGISTRY: dict[str, Callable[..., Provider]] = {}


def register(name: str, factory: Callable[..., Provider]) -> None:
    """Make a provider available under `name` (plugins can also use the `smslab.providers` entry point)."""
    _REGISTRY[name] = factory


BUILTIN = {
    "simulator": "smslab.providers.simulator:SimulatorProvider",
    "infobip": "smslab.providers.infobip:InfobipProvider",
    "twilio": "smslab.providers.twilio:TwilioProvider",
    "smpp": "smslab.providers.smpp:SmppProvider",
}


def _lazy(target: str) -> Callable[..., Provider]:
    def factory(**options: Any) -> Provider:
        module, attr = target.split(":")
        return getattr(import_module(module), attr)(**options)

    return factory


def _discover() -> None:
    for ep in entry_points(group="smslab.providers"):
        if ep.name not in _REGISTRY:
            _REGISTRY[ep.name] = ep.load
    for name, target in BUILTIN.items():  # a source tree without installed metadata
        _REGISTRY.setdefault(name, _lazy(target))


def available() -> list[str]:
    """Names of every registered provider."""
    _discover()
    return sorted(_REGISTRY)


def get_provider(name: str, **options: Any) -> Provider:
    """An instance of the provider called `name`; ProviderError names the known ones otherwise."""
    _discover()
    if name not in _REGISTRY:
        raise ProviderError(f"no provider named {name!r}; available: {', '.join(available())}")
    factory = _REGISTRY[name]
    if getattr(factory, "__self__", None) is not None and getattr(factory, "__name__", "") == "load":
        # an entry point, loaded on first use (its module may need optional packages); load() gives the class
        factory = cast(Callable[..., Provider], factory())
        _REGISTRY[name] = factory
    return factory(**options)
