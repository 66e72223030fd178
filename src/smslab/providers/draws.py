"""Deterministic draws: counter-based hashes of (seed, message id, k), vectorised with numpy, so
the same message always gets the same outcome, latency and reply whatever the batch.

Example:
    >>> import numpy as np
    >>> a = Draws(np.array([1, 2, 3], dtype=np.uint64)).uniform(0)
    >>> bool(((a >= 0) & (a < 1)).all()), bool((a == Draws(np.array([1, 2, 3], dtype=np.uint64)).uniform(0)).all())
    (True, True)
"""

from __future__ import annotations

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a well-mixed uint64 for every uint64 (vectorised, wraps on purpose)."""
    with np.errstate(over="ignore"):
        z = x.copy()
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


class Draws:
    """Independent uniforms in [0, 1) per message: draw k of message i depends only on (seed, id, k)."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys

    def uniform(self, k: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            x = self.keys + GOLDEN * np.uint64(k + 1)
        return (_splitmix(x) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def gauss(self, k: int) -> np.ndarray:
        u1, u2 = self.uniform(k), self.uniform(k + 1)
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)

    def lognormal(self, k: int, median_seconds: np.ndarray | float, sigma: float) -> np.ndarray:
        return np.asarray(median_seconds) * np.exp(self.gauss(k) * sigma)


def _pick(u: np.ndarray, weights: list[float]) -> np.ndarray:
    """Index of the weighted choice that each uniform falls into."""
    cum = np.cumsum(np.asarray(weights, dtype=float))
    return np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(weights) - 1)
