"""Pacing: each sender kept under its throughput, and the backoff between retries.

Example:
    >>> [backoff(a) for a in (1, 2, 3)], backoff(1, retry_after=7)
    ([0.5, 1.0, 2.0], 7.0)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from smslab.providers import Provider

DEFAULT_MPS = 5.0  # a sender whose throughput no price sheet knows: conservative
BASE_BACKOFF = 0.5  # seconds before the first retry, doubled each time
MAX_BACKOFF = 30.0


def sender_rates(
    due: pd.DataFrame, provider: Provider, throughput: float | dict[str, float] | None
) -> dict[Any, float | None]:
    """Messages per second for each sender id: override, else the price sheet, else DEFAULT_MPS.

    None means "not throttled" (the offline simulator, unless a rate is given explicitly).
    """
    senders = due[["sender_id", "region", "sender_type"]].drop_duplicates("sender_id")
    rates: dict[Any, float | None] = {}
    sheet = None
    for sender_id, region, sender_type in senders.itertuples(index=False):
        if isinstance(throughput, (int, float)):
            rates[sender_id] = float(throughput)
        elif isinstance(throughput, dict) and sender_id in throughput:
            rates[sender_id] = float(throughput[sender_id])
        elif not provider.throttled:
            rates[sender_id] = None
        else:
            if sheet is None:
                from smslab.pricing import load_prices

                sheet = load_prices()
            known = sheet.get(region or "", sender_type or "").throughput_mps if region and sender_type else None
            rates[sender_id] = float(known) if known else DEFAULT_MPS
    return rates


class Pacer:
    """Keeps each sender under its throughput: `wait(sender, n)` sleeps until n more messages may go.

    Example:
        >>> t = [0.0]
        >>> p = Pacer({"ACME": 2.0}, clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
        >>> p.wait("ACME", 4); p.wait("ACME", 2); t[0]
        2.0
    """

    def __init__(
        self,
        rates: dict[Any, float | None],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rates, self.clock, self.sleep = rates, clock, sleep
        self.free_at: dict[Any, float] = {}

    def wait(self, sender: Any, n: int) -> None:
        rate = self.rates.get(sender)
        if not rate:
            return
        now = self.clock()
        start = max(now, self.free_at.get(sender, now))
        if start > now:
            self.sleep(start - now)
        self.free_at[sender] = start + n / rate


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, …): exponential, capped, or the provider's hint.

    Example:
        >>> [backoff(a) for a in (1, 2, 3)], backoff(1, retry_after=7)
        ([0.5, 1.0, 2.0], 7.0)
    """
    if retry_after is not None:
        return min(float(retry_after), MAX_BACKOFF)
    return min(BASE_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)
