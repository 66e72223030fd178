"""Statistics for rates and A/B tests: Wilson and Newcombe intervals, z, chi-square and Fisher tests.

Example:
    >>> from smslab.stats import two_proportion_ztest
    >>> z, p = two_proportion_ztest(50, 100, 50, 100)
    >>> round(z, 3), round(p, 3)
    (0.0, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd


def wilson_interval(successes: Any, trials: Any, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion; vectorised. Empty trials give NaN.

    Example:
        >>> lo, hi = wilson_interval(81, 263)
        >>> round(float(lo), 4), round(float(hi), 4)
        (0.2553, 0.3662)
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        lo = np.where(n > 0, np.where(k == 0, 0.0, np.clip(centre - half, 0, 1)), np.nan)
        hi = np.where(n > 0, np.where(k == n, 1.0, np.clip(centre + half, 0, 1)), np.nan)
    return lo, hi


def two_proportion_ztest(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test (two-sided): (z, p-value) for p2 − p1.

    Example:
        >>> z, p = two_proportion_ztest(30, 100, 45, 100)
        >>> round(z, 4), round(p, 4)
        (2.1909, 0.0285)
    """
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan")
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (k2 / n2 - k1 / n1) / se
    return z, 2 * (1 - NormalDist().cdf(abs(z)))


def newcombe_interval(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's hybrid score interval for the difference p2 − p1 (built from Wilson intervals)."""
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan")
    p1, p2 = k1 / n1, k2 / n2
    (l1,), (u1,) = (np.atleast_1d(x) for x in wilson_interval(k1, n1, confidence))
    (l2,), (u2,) = (np.atleast_1d(x) for x in wilson_interval(k2, n2, confidence))
    d = p2 - p1
    return (
        float(d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)),
        float(d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)),
    )


@dataclass
class Comparison:
    """The answer of `compare_proportions`: one row per group, and the overall test."""

    table: pd.DataFrame
    test: str
    statistic: float
    p_value: float
    confidence: float
    metric: str = "rate"
    notes: list[str] = field(default_factory=list)

    @property
    def significant(self) -> bool:
        return bool(self.p_value < 1 - self.confidence)

    def summary(self) -> str:
        """One sentence a stakeholder can read."""
        t = self.table
        if len(t) < 2 or t["trials"].min() == 0:
            return f"{self.metric}: not enough data to compare groups."
        best = t.sort_values("rate", ascending=False).iloc[0]
        verdict = "a significant difference" if self.significant else "no significant difference"
        rates = ", ".join(
            f"{g} {r:.1%} ({lo:.1%}–{hi:.1%})"
            for g, r, lo, hi in zip(t["group"], t["rate"], t["ci_low"], t["ci_high"], strict=False)
        )
        return (
            f"{self.metric}: {rates}; {self.test} p = {self.p_value:.3g}: {verdict} at "
            f"{1 - self.confidence:.0%} (highest: {best['group']})."
        )


def compare_proportions(
    successes: Sequence[int],
    trials: Sequence[int],
    groups: Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    metric: str = "rate",
) -> Comparison:
    """Compare proportions between groups (A/B variants): Wilson intervals, differences against
    the first group with Newcombe intervals and z-test p-values (Holm-adjusted when more than one),
    and an overall test: the two-proportion z-test for two groups (Fisher's exact test when an
    expected count is below 5), a chi-square test of independence for more.

    Example:
        >>> c = compare_proportions([30, 45], [100, 100], ["A", "B"])
        >>> c.test, round(c.p_value, 4), round(float(c.table.loc[1, "diff"]), 2)
        ('two-proportion z-test', 0.0285, 0.15)
    """
    from scipy.stats import chi2_contingency, fisher_exact

    k = np.asarray(successes, dtype=np.int64)
    n = np.asarray(trials, dtype=np.int64)
    if k.shape != n.shape or (k < 0).any() or (k > n).any():
        raise ValueError("successes must be between 0 and trials, one per group")
    groups = [str(g) for g in (groups if groups is not None else [chr(65 + i) for i in range(len(k))])]
    lo, hi = wilson_interval(k, n, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, k / n, np.nan)
    table = pd.DataFrame({"group": groups, "trials": n, "successes": k, "rate": rate, "ci_low": lo, "ci_high": hi})
    diffs, dlo, dhi, pvals = [np.nan], [np.nan], [np.nan], [np.nan]
    for i in range(1, len(k)):
        diffs.append(rate[i] - rate[0])
        a, b = newcombe_interval(int(k[0]), int(n[0]), int(k[i]), int(n[i]), confidence)
        dlo.append(a)
        dhi.append(b)
        pvals.append(two_proportion_ztest(int(k[0]), int(n[0]), int(k[i]), int(n[i]))[1])
    table["diff"], table["diff_ci_low"], table["diff_ci_high"], table["p_value"] = diffs, dlo, dhi, pvals
    if len(k) > 2:  # Holm step-down over the comparisons with the first group
        raw = np.array(pvals[1:], dtype=float)
        order = np.argsort(raw)
        adjusted = np.empty_like(raw)
        running = 0.0
        for rank, idx in enumerate(order):
            running = max(running, min(1.0, (len(raw) - rank) * raw[idx]))
            adjusted[idx] = running
        table["p_value_holm"] = [np.nan, *adjusted]
    notes: list[str] = []
    active = n > 0
    if active.sum() < 2:
        return Comparison(
            table, "none", float("nan"), float("nan"), confidence, metric, ["fewer than two groups with data"]
        )
    contingency = np.stack([k[active], n[active] - k[active]], axis=1)
    if contingency.sum(axis=0).min() == 0:  # nobody (or everybody) succeeded: nothing differs
        return Comparison(table, "none (identical outcome in every group)", 0.0, 1.0, confidence, metric)
    expected = contingency.sum(axis=1, keepdims=True) * contingency.sum(axis=0, keepdims=True) / contingency.sum()
    if len(contingency) == 2:
        if expected.min() < 5:
            stat, p = fisher_exact(contingency)
            test = "Fisher's exact test"
            notes.append("an expected count is below 5, so Fisher's exact test replaces the z-test")
        else:  # the z-test; scipy's chi-square without continuity correction gives the same p-value (z² = χ²)
            idx = np.flatnonzero(active)
            stat = two_proportion_ztest(int(k[idx[0]]), int(n[idx[0]]), int(k[idx[1]]), int(n[idx[1]]))[0]
            p = chi2_contingency(contingency, correction=False)[1]
            test = "two-proportion z-test"
    else:
        stat, p, _, _ = chi2_contingency(contingency, correction=False)
        test = "chi-square test"
        if expected.min() < 5:
            notes.append("an expected count is below 5: the chi-square approximation is rough")
    return Comparison(table, test, float(stat), float(p), confidence, metric, notes)
