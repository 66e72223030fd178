"""Analytics over the store: did the campaign work, for whom, and at what cost?

Every function takes a DuckDB connection and a campaign id and returns a pandas DataFrame (or
a small result object) ready for a notebook to chart. Logic lives here, in SQL run by DuckDB,
so a notebook cell is one call. Phone numbers never leave unmasked: functions that return
individual recipients mask them (`mask_msisdn`), everything else is aggregated.

The funnel counts recipients (one message per recipient per campaign):

    targeted   in the campaign's audience
    allowed    got a message in the outbox (not blocked by the compliance check)
    submitted  accepted by the provider (has a provider message id)
    sent       reached the operator (a `sent` or `delivered` report, or that status)
    delivered  current status `delivered`
    replied    sent at least one reply to the campaign
    opted_out  one of those replies was an opt-out
    converted  a conversion attributed to the campaign (`attributed_conversions`)

Rates: delivery = delivered / submitted; reply, opt-out and conversion = x / delivered.

Example:
    >>> from smslab import analytics, store
    >>> con = store.connect(":memory:")
    >>> int(analytics.funnel(con, "none")["count"].sum())
    0
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any, Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd

from smslab.receiving.statuses import FINAL

FUNNEL_STAGES = ["targeted", "allowed", "submitted", "sent", "delivered", "replied", "opted_out", "converted"]
FAILED = ("undelivered", "expired", "rejected", "failed")
DEFAULT_ATTRIBUTION_DAYS = 7.0
NOT_SENT = "(not sent)"
_FINAL_SQL = ", ".join(f"'{s}'" for s in sorted(FINAL))

# dimension name → SQL expression over the per-recipient base (see `_BASE`)
DIMENSIONS: dict[str, str] = {
    "region": "region",
    "operator": "operator",
    "sender_type": "sender_type",
    "sender_id": "sender_id",
    "variant": "variant",
    "hour": "hour",
    "provider": "provider",
    "encoding": "encoding",
}
# what each A/B metric counts, and over which base
METRICS: dict[str, tuple[str, str]] = {
    "delivered": ("delivered", "submitted"),
    "replied": ("replied", "delivered"),
    "opted_out": ("opted_out", "delivered"),
    "converted": ("converted", "delivered"),
}


# ---- masking ----------------------------------------------------------------------------------

def mask_msisdn(msisdn: str | None) -> str | None:
    """Hide the middle of a phone number: +33612345678 → '+33 6•• •• •• 78'.

    Keeps the country calling code (up to 3 digits), the first digit after it and the last two.

    Example:
        >>> mask_msisdn("+33612345678")
        '+33 6•• •• •• 78'
    """
    if not msisdn or not isinstance(msisdn, str):
        return msisdn
    digits = re.sub(r"\D", "", msisdn)
    if len(digits) < 6:
        return "•" * len(digits)
    import phonenumbers

    try:
        cc = str(phonenumbers.parse("+" + digits).country_code)
    except phonenumbers.NumberParseException:
        cc = digits[:2]
    rest = digits[len(cc):]
    hidden = rest[0] + "•" * (len(rest) - 3) + rest[-2:]
    head = 4 - len(hidden) % 2  # so that the rest splits into pairs: +33 6•• •• •• 78, +1 4••• •• •• 67
    groups = [hidden[:head]] + [hidden[i:i + 2] for i in range(head, len(hidden), 2)]
    return f"+{cc} " + " ".join(groups)


_PHONE_IN_TEXT = re.compile(r"(?<![\w])\+?\d[\d \-.()]{6,18}\d(?![\w])")
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")


def mask_text(text: str | None) -> str | None:
    """Mask phone numbers written inside free text (replies can carry them).

    Any run of 8 or more digits (spaces, dots, dashes allowed between them) is masked.

    Example:
        >>> mask_text("call me on +33 6 12 34 56 78 please")
        'call me on +33 6•• •• •• 78 please'
    """
    if not text or not isinstance(text, str):
        return text

    def one(m: re.Match[str]) -> str:
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if len(digits) < 8 or _DATE.fullmatch(raw.strip()):
            return raw
        if raw.startswith("+"):
            return mask_msisdn("+" + digits) or ""
        return digits[0] + "•" * (len(digits) - 3) + digits[-2:]  # national format: no country code to keep

    return _PHONE_IN_TEXT.sub(one, text)


def mask_frame(frame: pd.DataFrame, columns: Iterable[str] = ("msisdn",)) -> pd.DataFrame:
    """A copy of `frame` with phone-number columns masked (unique values masked once)."""
    out = frame.copy()
    for col in columns:
        if col in out:
            uniques = out[col].dropna().unique()
            lookup = {u: mask_msisdn(u) for u in uniques}
            out[col] = out[col].map(lookup)
    return out


# ---- statistics -------------------------------------------------------------------------------

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
    return (float(d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)),
            float(d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)))


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
        verdict = ("a significant difference" if self.significant
                   else "no significant difference")
        rates = ", ".join(f"{g} {r:.1%} ({lo:.1%}–{hi:.1%})"
                          for g, r, lo, hi in zip(t["group"], t["rate"], t["ci_low"], t["ci_high"]))
        return (f"{self.metric}: {rates}; {self.test} p = {self.p_value:.3g}: {verdict} at "
                f"{1 - self.confidence:.0%} (highest: {best['group']}).")


def compare_proportions(successes: Sequence[int], trials: Sequence[int], groups: Sequence[str] | None = None, *,
                        confidence: float = 0.95, metric: str = "rate") -> Comparison:
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
        return Comparison(table, "none", float("nan"), float("nan"), confidence, metric,
                          ["fewer than two groups with data"])
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


# ---- the per-recipient base -------------------------------------------------------------------

def _touch_sql() -> str:
    return """SELECT campaign_id, msisdn, greatest(submitted_at, coalesce(scheduled_at, submitted_at)) AS sent_at
              FROM messages WHERE status = 'delivered' AND submitted_at IS NOT NULL"""


_ATTRIBUTED = f"""
    SELECT c.msisdn, c.converted_at, c.value, c.currency, c.reference, t.campaign_id, t.sent_at
    FROM conversions c ASOF JOIN ({_touch_sql()}) t ON c.msisdn = t.msisdn AND c.converted_at >= t.sent_at
    WHERE c.converted_at < t.sent_at + to_seconds($w)"""

_BASE = f"""
WITH msg AS (
    SELECT message_id, msisdn, region, sender_type, sender_id, variant, provider, encoding, provider_message_id,
           status, price, currency,
           CASE WHEN submitted_at IS NOT NULL THEN greatest(submitted_at, coalesce(scheduled_at, submitted_at)) END AS sent_at
    FROM messages WHERE campaign_id = $c),
ev AS (
    SELECT provider_message_id, bool_or(status IN ('sent', 'delivered')) AS reached,
           min(event_at) FILTER (WHERE status = 'delivered') AS delivered_at,
           max(json_extract_string(raw, '$.mccMnc')) AS mcc_mnc
    FROM __DLR__ WHERE provider_message_id IN (SELECT provider_message_id FROM msg WHERE provider_message_id IS NOT NULL)
    GROUP BY provider_message_id),
rep AS (SELECT msisdn, count(*) AS replies, bool_or(intent = 'opt_out') AS opted_out
        FROM inbound WHERE campaign_id = $c GROUP BY msisdn),
conv AS (SELECT msisdn, count(*) AS conversions, sum(value) AS revenue, any_value(currency) AS revenue_currency
         FROM ({_ATTRIBUTED}) WHERE campaign_id = $c GROUP BY msisdn),
aud AS (SELECT msisdn, region FROM audience WHERE campaign_id = $c),
base AS (
    SELECT coalesce(m.msisdn, a.msisdn) AS msisdn,
           coalesce(m.region, a.region, 'unknown') AS region,
           CASE WHEN m.message_id IS NULL THEN '{NOT_SENT}'
                ELSE coalesce(m.region, '?') || ' ' || coalesce(ev.mcc_mnc, 'unknown') END AS operator,
           coalesce(m.sender_type, '{NOT_SENT}') AS sender_type,
           coalesce(m.sender_id, '{NOT_SENT}') AS sender_id,
           coalesce(m.variant, '{NOT_SENT}') AS variant,
           coalesce(m.provider, '{NOT_SENT}') AS provider,
           coalesce(m.encoding, '{NOT_SENT}') AS encoding,
           coalesce(strftime(m.sent_at, '%H:00'), '{NOT_SENT}') AS hour,
           a.msisdn IS NOT NULL AS targeted,
           m.message_id IS NOT NULL AS allowed,
           m.provider_message_id IS NOT NULL AS submitted,
           m.provider_message_id IS NOT NULL AND (coalesce(ev.reached, false) OR m.status IN ('sent', 'delivered')) AS sent,
           coalesce(m.status = 'delivered', false) AS delivered,
           coalesce(m.status IN {FAILED}, false) AS failed,
           rep.msisdn IS NOT NULL AS replied,
           coalesce(rep.opted_out, false) AS opted_out,
           conv.msisdn IS NOT NULL AS converted,
           coalesce(rep.replies, 0) AS replies,
           coalesce(conv.conversions, 0) AS conversions,
           coalesce(conv.revenue, 0) AS revenue, conv.revenue_currency,
           CASE WHEN m.provider_message_id IS NOT NULL THEN m.price END AS price, m.currency,
           m.status, m.sent_at, ev.delivered_at
    FROM aud a FULL OUTER JOIN msg m ON a.msisdn = m.msisdn
    LEFT JOIN ev ON ev.provider_message_id = m.provider_message_id
    LEFT JOIN rep ON rep.msisdn = coalesce(m.msisdn, a.msisdn)
    LEFT JOIN conv ON conv.msisdn = coalesce(m.msisdn, a.msisdn))
"""

def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def _sql(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Reports match messages by the id of the whole message (`message_ref`, migration 2: a
    multipart message's per-part receipts carry it), else by the provider message id."""
    dlr = "dlr_events"
    if "message_ref" in _columns(con, "dlr_events"):
        dlr = "(SELECT * REPLACE (coalesce(message_ref, provider_message_id) AS provider_message_id) FROM dlr_events)"
    return sql.replace("__DLR__", dlr)


def _base(con: duckdb.DuckDBPyConnection, campaign_id: str, attribution_days: float) -> str:
    """The per-recipient base of a campaign as a temporary table (name returned), built once per
    connection and data version: a report asks many questions of the same 1M rows. Temporary
    tables work on read-only connections too and vanish with the connection."""
    import hashlib

    con.execute("SET enable_progress_bar = false")  # in Jupyter it would draw a widget into the report
    version = con.execute("""SELECT (SELECT count(*) FROM messages), (SELECT max(status_at) FROM messages),
        (SELECT count(*) FROM dlr_events), (SELECT max(received_at) FROM dlr_events), (SELECT count(*) FROM inbound),
        (SELECT count(*) FROM conversions), (SELECT count(*) FROM audience)""").fetchall()[0]
    stem = "smslab_base_" + hashlib.sha1(f"{campaign_id}|{float(attribution_days)}".encode()).hexdigest()[:12]
    name = f"{stem}_{hashlib.sha1(repr(version).encode()).hexdigest()[:12]}"
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND "
                                        "starts_with(table_name, ?)", [stem]).fetchall()}
    if name not in tables:
        for stale in tables:
            con.execute(f"DROP TABLE IF EXISTS temp.{stale}")
        con.execute(_sql(con, f"CREATE TEMP TABLE {name} AS " + _BASE + "SELECT * FROM base"),
                    _params(campaign_id, attribution_days))
    return name


_COUNTS = """count(*) FILTER (WHERE targeted) AS targeted, count(*) FILTER (WHERE allowed) AS allowed,
             count(*) FILTER (WHERE submitted) AS submitted, count(*) FILTER (WHERE sent) AS sent,
             count(*) FILTER (WHERE delivered) AS delivered, count(*) FILTER (WHERE replied) AS replied,
             count(*) FILTER (WHERE opted_out) AS opted_out, count(*) FILTER (WHERE converted) AS converted"""


def _params(campaign_id: str, attribution_days: float) -> dict[str, Any]:
    return {"c": campaign_id, "w": float(attribution_days) * 86400.0}


def _dimension(dimension: str) -> str:
    if dimension not in DIMENSIONS:
        raise ValueError(f"cannot group by {dimension!r}; expected one of {', '.join(DIMENSIONS)}")
    return DIMENSIONS[dimension]


def recipients(con: duckdb.DuckDBPyConnection, campaign_id: str, *,
               attribution_days: float = DEFAULT_ATTRIBUTION_DAYS) -> pd.DataFrame:
    """One row per recipient with every funnel flag and dimension; msisdn masked."""
    frame = con.execute(f"SELECT * FROM {_base(con, campaign_id, attribution_days)} ORDER BY msisdn").df()
    return mask_frame(frame)


# ---- the funnel -------------------------------------------------------------------------------

def campaigns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every campaign with its message count, newest first."""
    return con.execute("""
        SELECT c.campaign_id, c.name, c.purpose, c.two_way, c.created_at, count(m.message_id) AS messages
        FROM campaigns c LEFT JOIN messages m USING (campaign_id)
        GROUP BY ALL ORDER BY c.created_at DESC""").df()


def funnel(con: duckdb.DuckDBPyConnection, campaign_id: str, *,
           attribution_days: float = DEFAULT_ATTRIBUTION_DAYS) -> pd.DataFrame:
    """Recipients at each stage, with the share of the targeted and of the stage before.

    Example:
        >>> from smslab import store
        >>> funnel(store.connect(":memory:"), "none")["stage"].tolist()[:3]
        ['targeted', 'allowed', 'submitted']
    """
    row = con.execute(f"SELECT {_COUNTS} FROM {_base(con, campaign_id, attribution_days)}").fetchall()[0]
    counts = [int(v or 0) for v in row]
    frame = pd.DataFrame({"stage": FUNNEL_STAGES, "count": counts})
    top = counts[0] or np.nan
    frame["share_of_targeted"] = frame["count"] / top
    frame["share_of_previous"] = frame["count"] / frame["count"].shift(1).replace(0, np.nan)
    return frame


def funnel_by(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region", *,
              attribution_days: float = DEFAULT_ATTRIBUTION_DAYS, confidence: float = 0.95) -> pd.DataFrame:
    """The funnel per value of a dimension (region, operator, sender_type, sender_id, variant, hour…),
    with delivery, reply, opt-out and conversion rates and a Wilson interval for each.

    Recipients who got no message carry '(not sent)' for the message dimensions.
    """
    col = _dimension(dimension)
    frame = con.execute(f"SELECT {col} AS {dimension}, {_COUNTS} FROM {_base(con, campaign_id, attribution_days)} "
                        "GROUP BY 1 ORDER BY targeted DESC, submitted DESC, 1").df()
    return _with_rates(frame, confidence)


def _with_rates(frame: pd.DataFrame, confidence: float) -> pd.DataFrame:
    for name, (num, den) in {"delivery_rate": ("delivered", "submitted"), "reply_rate": ("replied", "delivered"),
                             "opt_out_rate": ("opted_out", "delivered"),
                             "conversion_rate": ("converted", "delivered")}.items():
        k, n = frame[num].to_numpy(float), frame[den].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[name] = np.where(n > 0, k / n, np.nan)
        lo, hi = wilson_interval(k, n, confidence)
        frame[f"{name}_low"], frame[f"{name}_high"] = lo, hi
    return frame


def summary(con: duckdb.DuckDBPyConnection, campaign_id: str, *,
            attribution_days: float = DEFAULT_ATTRIBUTION_DAYS) -> dict[str, Any]:
    """Headline figures: the funnel counts, the four rates, cost and revenue (per currency)."""
    f = funnel(con, campaign_id, attribution_days=attribution_days).set_index("stage")["count"].to_dict()
    rates = _with_rates(pd.DataFrame([f]), 0.95).iloc[0]
    cost = cost_per_outcome(con, campaign_id, attribution_days=attribution_days)
    return {**{k: int(v) for k, v in f.items()},
            **{r: (None if pd.isna(rates[r]) else float(rates[r]))
               for r in ("delivery_rate", "reply_rate", "opt_out_rate", "conversion_rate")},
            "cost": {row.currency: float(row.cost) for row in cost.itertuples() if row.currency},
            "attribution_days": attribution_days}


def delivery_by(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region", *,
                confidence: float = 0.95) -> pd.DataFrame:
    """Submitted, delivered, failed, delivery rate (Wilson interval) and cost by a dimension."""
    col = _dimension(dimension)
    frame = con.execute(f"""
        SELECT {col} AS {dimension}, count(*) FILTER (WHERE submitted) AS submitted,
               count(*) FILTER (WHERE delivered) AS delivered, count(*) FILTER (WHERE failed) AS failed,
               count(*) FILTER (WHERE submitted AND NOT delivered AND NOT failed) AS pending,
               sum(price) AS cost
        FROM {_base(con, campaign_id, DEFAULT_ATTRIBUTION_DAYS)} WHERE allowed GROUP BY 1 ORDER BY submitted DESC, 1""").df()
    k, n = frame["delivered"].to_numpy(float), frame["submitted"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["delivery_rate"] = np.where(n > 0, k / n, np.nan)
    frame["ci_low"], frame["ci_high"] = wilson_interval(k, n, confidence)
    return frame


def status_counts(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Messages by current normalised status."""
    return con.execute("""SELECT status, count(*) AS messages FROM messages WHERE campaign_id = ?
                          GROUP BY status ORDER BY messages DESC, status""", [campaign_id]).df()


def latency(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region") -> pd.DataFrame:
    """Seconds from the moment a message went out to its first delivered report: p50, p90, p99 by a
    dimension, with an 'all' row first."""
    col = _dimension(dimension)
    return con.execute(f"""
        WITH d AS (SELECT {col} AS dim, epoch(delivered_at - sent_at) AS s FROM {_base(con, campaign_id, DEFAULT_ATTRIBUTION_DAYS)}
                   WHERE delivered AND delivered_at IS NOT NULL AND sent_at IS NOT NULL)
        SELECT coalesce(dim, 'all') AS {dimension}, count(*) AS delivered, quantile_cont(s, 0.5) AS p50_s,
               quantile_cont(s, 0.9) AS p90_s, quantile_cont(s, 0.99) AS p99_s, max(s) AS max_s
        FROM d GROUP BY GROUPING SETS ((), (dim)) ORDER BY dim IS NOT NULL, delivered DESC, 1""").df()


# ---- failures ---------------------------------------------------------------------------------

_FAIL_EVENTS = f"""
    WITH f AS (SELECT message_id, region, status, provider_message_id FROM messages
               WHERE campaign_id = $c AND status IN {FAILED}),
    e AS (SELECT provider_message_id, status, error_code, permanent,
                 coalesce(json_extract_string(raw, '$.error.name'), json_extract_string(raw, '$.status.name'),
                          raw_status) AS reason, event_at
          FROM __DLR__ WHERE provider_message_id IN (SELECT provider_message_id FROM f)),
    last AS (SELECT f.message_id, f.region, f.status, arg_max(e.error_code, e.event_at) AS error_code,
                    arg_max(e.reason, e.event_at) AS reason, arg_max(e.permanent, e.event_at) AS permanent
             FROM f LEFT JOIN e ON e.provider_message_id = f.provider_message_id AND e.status = f.status
             GROUP BY ALL)
"""


def failures(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Final failures by status and error (code and name from the report), permanent or temporary."""
    return con.execute(_sql(con, _FAIL_EVENTS + """
        SELECT status, error_code, coalesce(reason, 'unknown') AS reason,
               CASE WHEN permanent THEN 'permanent' WHEN NOT permanent THEN 'temporary' ELSE 'unknown' END AS kind,
               count(*) AS messages
        FROM last GROUP BY ALL ORDER BY messages DESC, status, reason"""), {"c": campaign_id}).df()


def failure_split(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region") -> pd.DataFrame:
    """Failures per region (or 'status') split into permanent (do not retry: bad number, barred)
    and temporary (retry later: absent subscriber, expired), with the share of each."""
    col = {"region": "region", "status": "status"}.get(dimension)
    if col is None:
        raise ValueError("failure_split groups by region or status")
    frame = con.execute(_sql(con, _FAIL_EVENTS + f"""
        SELECT {col} AS {dimension}, count(*) FILTER (WHERE permanent) AS permanent,
               count(*) FILTER (WHERE NOT permanent) AS temporary,
               count(*) FILTER (WHERE permanent IS NULL) AS unknown, count(*) AS failed
        FROM last GROUP BY 1 ORDER BY failed DESC, 1"""), {"c": campaign_id}).df()
    frame["permanent_share"] = frame["permanent"] / frame["failed"].replace(0, np.nan)
    return frame


# ---- replies and opt-outs ---------------------------------------------------------------------

def reply_intents(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Replies by intent and keyword."""
    return con.execute("""SELECT intent, coalesce(keyword, '(free text)') AS keyword, count(*) AS replies
                          FROM inbound WHERE campaign_id = ? GROUP BY ALL ORDER BY replies DESC, intent, keyword""",
                       [campaign_id]).df()


def optout_keywords(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Opt-out replies by keyword and country, with the share of all opt-outs."""
    frame = con.execute("""
        SELECT i.keyword, coalesce(m.region, 'unknown') AS region, count(*) AS opt_outs
        FROM inbound i LEFT JOIN (SELECT DISTINCT msisdn, region FROM messages WHERE campaign_id = $c) m USING (msisdn)
        WHERE i.campaign_id = $c AND i.intent = 'opt_out' GROUP BY ALL ORDER BY opt_outs DESC, 1, 2""",
                        {"c": campaign_id}).df()
    frame["share"] = frame["opt_outs"] / max(int(frame["opt_outs"].sum()), 1)
    return frame


def optout_by(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region", *,
              confidence: float = 0.95) -> pd.DataFrame:
    """Opt-out rate (opted out / delivered, Wilson interval) by a dimension such as region or sender_id."""
    frame = funnel_by(con, campaign_id, dimension, confidence=confidence)
    keep = [dimension, "delivered", "replied", "opted_out", "opt_out_rate", "opt_out_rate_low", "opt_out_rate_high"]
    return frame.loc[frame["delivered"] > 0, keep].sort_values("opt_out_rate", ascending=False).reset_index(drop=True)


def optouts_over_time(con: duckdb.DuckDBPyConnection, campaign_id: str, freq: str = "hour") -> pd.DataFrame:
    """Replies and opt-outs per hour (or day, minute) since the campaign went out, with the
    cumulative opt-out rate over everything delivered."""
    if freq not in ("minute", "hour", "day"):
        raise ValueError("freq is minute, hour or day")
    delivered = int(con.execute("SELECT count(*) FROM messages WHERE campaign_id = ? AND status = 'delivered'",
                                [campaign_id]).fetchall()[0][0])
    frame = con.execute(f"""
        SELECT date_trunc('{freq}', received_at) AS period, count(*) AS replies,
               count(*) FILTER (WHERE intent = 'opt_out') AS opt_outs
        FROM inbound WHERE campaign_id = ? GROUP BY 1 ORDER BY 1""", [campaign_id]).df()
    frame["cumulative_opt_outs"] = frame["opt_outs"].cumsum()
    frame["cumulative_opt_out_rate"] = frame["cumulative_opt_outs"] / delivered if delivered else np.nan
    return frame


def optout_linkage(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Opt-outs received on a number other than the sender (an alphanumeric sender's opt-out short
    code, as in Kenya), how they were scoped in the consent ledger, and whether that scope is the
    sender the message came from (linked)."""
    return con.execute("""
        WITH o AS (SELECT i.provider, i.provider_message_id, i.msisdn, i.recipient FROM inbound i
                   WHERE i.campaign_id = $c AND i.intent = 'opt_out'),
        m AS (SELECT DISTINCT msisdn, region, sender_type, sender_id FROM messages WHERE campaign_id = $c),
        l AS (SELECT json_extract_string(evidence, '$.provider_message_id') AS provider_message_id, scope
              FROM consent WHERE action = 'opt_out')
        SELECT m.region, m.sender_type, m.sender_id, o.recipient AS received_on, l.scope AS consent_scope,
               coalesce(l.scope = m.sender_id, false) AS linked, count(*) AS opt_outs
        FROM o JOIN m USING (msisdn) LEFT JOIN l USING (provider_message_id)
        WHERE o.recipient IS DISTINCT FROM m.sender_id
        GROUP BY ALL ORDER BY opt_outs DESC, 1""", {"c": campaign_id}).df()


def replies_for_review(con: duckdb.DuckDBPyConnection, campaign_id: str, *, limit: int = 50) -> pd.DataFrame:
    """Replies a person should read: free text that may be an opt-out ("please stop texting me"),
    help requests, and other free text; newest first, numbers masked in the sender and the text."""
    from smslab.receiving.keywords import possible_opt_out

    review = "i.review" if "review" in _columns(con, "inbound") else "NULL"  # the loader's flag (migration 2)
    frame = con.execute(f"""
        SELECT i.received_at, coalesce(m.region, 'unknown') AS region, i.msisdn, i.recipient AS received_on,
               i.intent, i.text, {review} AS review
        FROM inbound i LEFT JOIN (SELECT DISTINCT msisdn, region FROM messages WHERE campaign_id = $c) m USING (msisdn)
        WHERE i.campaign_id = $c AND (i.intent IN ('other', 'help') OR {review} IS NOT NULL)""", {"c": campaign_id}).df()
    if frame.empty:
        return pd.DataFrame(columns=["priority", "received_at", "region", "msisdn", "received_on", "intent", "reason", "text"])
    flag = frame["text"].fillna("").map(possible_opt_out) | (frame["review"] == "possible_opt_out")
    frame["reason"] = np.where(flag, "possible opt-out", np.where(frame["intent"] == "help", "help request",
                               np.where(frame["review"].notna(), frame["review"].fillna("").str.replace("_", " "),
                                        "free text")))
    frame["priority"] = frame["reason"].map({"possible opt-out": 1, "help request": 2, "free text": 3})
    frame = frame.sort_values(["priority", "received_at"], ascending=[True, False]).head(limit)
    frame["text"] = frame["text"].map(mask_text)
    frame = mask_frame(frame)
    return frame[["priority", "received_at", "region", "msisdn", "received_on", "intent", "reason", "text"]].reset_index(drop=True)


# ---- A/B --------------------------------------------------------------------------------------

def ab_test(con: duckdb.DuckDBPyConnection, campaign_id: str, metric: str = "delivered", *,
            attribution_days: float = DEFAULT_ATTRIBUTION_DAYS, confidence: float = 0.95) -> Comparison:
    """Compare the campaign's variants on a metric: delivered (of submitted), replied, opted_out or
    converted (of delivered). See `compare_proportions` for the statistics."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: expected one of {', '.join(METRICS)}")
    num, den = METRICS[metric]
    frame = funnel_by(con, campaign_id, "variant", attribution_days=attribution_days)
    frame = frame[frame["variant"] != NOT_SENT].sort_values("variant")
    label = f"{metric.replace('_', ' ')} / {den}"
    return compare_proportions(frame[num].tolist(), frame[den].tolist(), frame["variant"].tolist(),
                               confidence=confidence, metric=label)


# ---- conversions and cost ---------------------------------------------------------------------

def attributed_conversions(con: duckdb.DuckDBPyConnection, campaign_id: str | None = None, *,
                           attribution_days: float = DEFAULT_ATTRIBUTION_DAYS) -> pd.DataFrame:
    """Conversions attributed last-touch: each conversion goes to the latest delivered message sent
    to that number before it (any campaign), when it came within `attribution_days` of it.
    msisdn masked."""
    sql = f"SELECT * FROM ({_ATTRIBUTED})" + (" WHERE campaign_id = $c" if campaign_id else "") + " ORDER BY converted_at"
    params: dict[str, Any] = {"w": float(attribution_days) * 86400.0}
    if campaign_id:
        params["c"] = campaign_id
    return mask_frame(con.execute(sql, params).df())


def cost_per_outcome(con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str | None = None, *,
                     attribution_days: float = DEFAULT_ATTRIBUTION_DAYS) -> pd.DataFrame:
    """What the messages cost (sum of `price` of submitted messages), per currency and optionally a
    dimension, and cost per delivered message, per reply and per conversion, with the revenue of
    the attributed conversions. Messages without a known price are counted in `unpriced`."""
    dim = f"{_dimension(dimension)} AS {dimension}, " if dimension else ""
    frame = con.execute(f"""
        SELECT {dim}currency, count(*) FILTER (WHERE submitted) AS submitted,
               count(*) FILTER (WHERE submitted AND price IS NULL) AS unpriced, coalesce(sum(price), 0) AS cost,
               count(*) FILTER (WHERE delivered) AS delivered, sum(replies) AS replies,
               sum(conversions) AS conversions, sum(revenue) AS revenue, any_value(revenue_currency) AS revenue_currency
        FROM {_base(con, campaign_id, attribution_days)} WHERE submitted GROUP BY ALL
        ORDER BY {'1, ' if dimension else ''}cost DESC""").df()
    for name, what in (("cost_per_delivered", "delivered"), ("cost_per_reply", "replies"),
                       ("cost_per_conversion", "conversions")):
        frame[name] = frame["cost"] / frame[what].replace(0, np.nan)
    return frame


_CONV_COLUMNS = {"msisdn": ("msisdn", "phone", "phone_number", "number", "mobile"),
                 "time": ("time", "converted_at", "timestamp", "date", "datetime"),
                 "value": ("value", "amount", "revenue"),
                 "currency": ("currency",), "reference": ("reference", "order_id", "id")}


def import_conversions(path: str | Path, *, con: duckdb.DuckDBPyConnection | None = None, db: Any = None,
                       default_region: str | None = None, currency: str | None = None) -> dict[str, int]:
    """Load conversions from a CSV (msisdn, time, value[, currency, reference]) into `conversions`.

    Numbers are normalised to E.164 (`default_region` for national formats), times parsed as ISO
    8601 (no offset = UTC), values as numbers. A row that cannot be used goes to `quarantine`
    with its line and why; importing the same file again adds nothing (a conversion is the
    same when number, time, value, currency and reference are).

    Example::

        import_conversions("orders.csv", db="data/smslab.duckdb", default_region="FR", currency="EUR")
        {'loaded': 120, 'duplicates': 0, 'quarantined': 2}
    """
    from smslab import store
    from smslab.errors import InputError
    from smslab.numbers import normalize

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such conversions file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not header:
        raise InputError(f"{path}: line 1: empty file; expected a header msisdn,time,value[,currency,reference]")
    names = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for key, aliases in _CONV_COLUMNS.items():
        for alias in aliases:
            if alias in names:
                index[key] = names.index(alias)
                break
    missing = [k for k in ("msisdn", "time", "value") if k not in index]
    if missing:
        raise InputError(f"{path}: line 1: missing column(s) {', '.join(missing)} "
                         f"(found: {', '.join(names)}; expected msisdn,time,value[,currency,reference])")

    def cell(r: list[str], key: str) -> str:
        i = index.get(key)
        return r[i].strip() if i is not None and i < len(r) else ""

    frame = pd.DataFrame({"line": [ln for ln, _ in rows],
                          "raw": [",".join(r) for _, r in rows],
                          "msisdn_in": [cell(r, "msisdn") for _, r in rows],
                          "time_in": [cell(r, "time") for _, r in rows],
                          "value_in": [cell(r, "value") for _, r in rows],
                          "currency": [cell(r, "currency").upper() or (currency or "").upper() or None for _, r in rows],
                          "reference": [cell(r, "reference") or None for _, r in rows],
                          "width": [len(r) for _, r in rows]})
    numbers = normalize(frame["msisdn_in"], default_region=default_region) if len(frame) else pd.DataFrame(
        columns=["e164", "valid", "error"])
    frame["msisdn"] = numbers["e164"].where(numbers["valid"].astype(bool)).to_numpy()
    times = pd.to_datetime(frame["time_in"], utc=True, errors="coerce", format="ISO8601")
    frame["converted_at"] = times.dt.tz_localize(None)
    frame["value"] = pd.to_numeric(frame["value_in"], errors="coerce")
    reasons = []
    for i, row in enumerate(frame.itertuples()):
        if row.width != len(header):
            reasons.append(f"expected {len(header)} fields, got {row.width}")
        elif row.msisdn is None or (isinstance(row.msisdn, float) and math.isnan(row.msisdn)):
            reasons.append(f"msisdn {row.msisdn_in!r}: {numbers['error'].iloc[i] or 'not a valid number'}")
        elif pd.isna(row.converted_at):
            reasons.append(f"time {row.time_in!r}: expected an ISO 8601 date and time")
        elif pd.isna(row.value) or not math.isfinite(row.value):
            reasons.append(f"value {row.value_in!r}: expected a number")
        elif row.currency is not None and not re.fullmatch(r"[A-Z]{3}", row.currency):
            reasons.append(f"currency {row.currency!r}: expected a three-letter code such as EUR")
        else:
            reasons.append(None)
    frame["reason"] = reasons
    bad = frame[frame["reason"].notna()]
    good = frame[frame["reason"].isna()][["msisdn", "converted_at", "value", "currency", "reference"]]
    good = good.drop_duplicates()
    own = None
    if con is None:
        con = own = store.connect(db)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            before = int(store.scalar(con, "SELECT count(*) FROM conversions"))
            if len(good):
                con.register("_smslab_conv", good)
                con.execute("""INSERT INTO conversions
                               SELECT msisdn, converted_at, value, currency, reference FROM _smslab_conv g
                               WHERE NOT EXISTS (SELECT 1 FROM conversions c WHERE c.msisdn = g.msisdn
                                   AND c.converted_at = g.converted_at AND c.value = g.value
                                   AND c.currency IS NOT DISTINCT FROM g.currency
                                   AND c.reference IS NOT DISTINCT FROM g.reference)""")
                con.unregister("_smslab_conv")
            loaded = int(store.scalar(con, "SELECT count(*) FROM conversions")) - before
            quarantined = store.quarantine(con, [
                {"source": f"conversions:{path.name}", "location": f"{path}:{r.line}", "raw": r.raw, "reason": r.reason}
                for r in bad.itertuples()])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        if own is not None:
            own.close()
    return {"loaded": loaded, "duplicates": int(len(frame) - len(bad) - loaded), "quarantined": int(len(bad)),
            "new_quarantined": int(quarantined)}


def freshness(con: duckdb.DuckDBPyConnection) -> dict:
    """How fresh the data is: the latest report, reply and load."""
    row = con.execute("""SELECT (SELECT max(received_at) FROM dlr_events), (SELECT max(received_at) FROM inbound),
                                (SELECT max(loaded_at) FROM journal_offsets)""").fetchall()[0]
    return {"latest_report": row[0], "latest_reply": row[1], "latest_load": row[2]}



# ---- planning views (campaign_setup, cost_estimate) -------------------------------------------

def preflight(spec: Any, *, at: Any = None, db: Any = None) -> Any:
    """The compliance check of `spec` for a report: the consent ledger of `db` (if it exists) is
    copied into a scratch in-memory store, so a report never writes to the real database.

    Example::

        result = preflight("data/samples/campaign.yaml", db="data/smslab.duckdb")
        result.summary()["recipients"]
    """
    from smslab import compliance, config, store

    scratch = store.connect(":memory:")
    scratch.execute("SET enable_progress_bar = false")  # in Jupyter it would draw a widget into the report
    path = config.db_path(db) if db != "none" else None
    problem = None if path is not None else "skipped (db = none)"
    if path is not None and not Path(path).is_file():
        problem = f"{path} does not exist yet"
    elif path is not None:
        escaped = str(path).replace("'", "''")
        try:
            scratch.execute(f"ATTACH '{escaped}' AS smslab_src (READ_ONLY)")
            try:
                scratch.execute("INSERT INTO consent SELECT * FROM smslab_src.consent")
            finally:
                scratch.execute("DETACH smslab_src")
        except duckdb.Error as exc:  # locked by a writer, not a DuckDB file, no consent table…
            problem = f"{path} could not be read ({str(exc).splitlines()[0]})"
    result = compliance.check(spec, at=at, con=scratch)
    if problem:
        result.findings.append({"rule": "consent_ledger_not_checked", "severity": "warn", "country": None,
                                "recipients": 0, "source": None,
                                "message": f"opt-outs in the consent ledger were not checked: {problem}"})
    return result


def audience_profile(result: Any) -> pd.DataFrame:
    """Recipients by country and number type (from a `preflight` / `compliance.check` result)."""
    frame = result.audience
    if frame is None or not len(frame):
        return pd.DataFrame(columns=["region", "number_type", "recipients"])
    out = (frame.assign(region=frame["region"].fillna("unknown"), number_type=frame["number_type"].fillna("unknown"))
           .groupby(["region", "number_type"]).size().rename("recipients").reset_index())
    return out.sort_values(["recipients", "region"], ascending=[False, True]).reset_index(drop=True)


def decisions_by_country(result: Any) -> pd.DataFrame:
    """Allowed, deferred and blocked recipients per country, with the main reasons for blocking."""
    d = result.decisions
    if not len(d):
        return pd.DataFrame(columns=["region", "allowed", "deferred", "blocked", "total", "reasons"])
    table = pd.crosstab(d["region"].fillna("unknown"), d["decision"])
    for col in ("allowed", "deferred", "blocked"):
        if col not in table:
            table[col] = 0
    table = table[["allowed", "deferred", "blocked"]]
    table["total"] = table.sum(axis=1)
    reasons = (d[d["decision"] != "allowed"].assign(region=lambda x: x["region"].fillna("unknown"))
               .groupby(["region", "reason"]).size().rename("n").reset_index()
               .sort_values("n", ascending=False).groupby("region")
               .apply(lambda g: ", ".join(f"{r} ({n})" for r, n in zip(g["reason"], g["n"])), include_groups=False))
    table["reasons"] = reasons.reindex(table.index).fillna("")
    return table.reset_index().sort_values("total", ascending=False).reset_index(drop=True)


def send_windows(result: Any) -> pd.DataFrame:
    """Per country and time zone: the local time at the checked moment, recipients allowed now,
    deferred by quiet hours (and the earliest next allowed time, UTC and local), blocked."""
    a, d = result.audience, result.decisions
    cols = ["region", "time_zone", "local_time", "recipients", "allowed", "deferred", "blocked",
            "next_allowed_utc", "next_allowed_local"]
    if a is None or not len(a) or not len(d):
        return pd.DataFrame(columns=cols)
    zones = a[["msisdn", "time_zone"]].drop_duplicates("msisdn")
    frame = d[["msisdn", "region", "decision", "next_allowed_at"]].merge(zones, on="msisdn", how="left")
    frame["time_zone"] = frame["time_zone"].fillna("unknown")
    frame["region"] = frame["region"].fillna("unknown")
    keys = ["region", "time_zone"]
    out = pd.crosstab([frame["region"], frame["time_zone"]], frame["decision"])
    for col in ("allowed", "deferred", "blocked"):
        if col not in out:
            out[col] = 0
    out["recipients"] = out[["allowed", "deferred", "blocked"]].sum(axis=1)
    out["next_allowed_utc"] = frame.groupby(keys)["next_allowed_at"].min()
    out = out.reset_index()
    out.columns.name = None
    at = pd.Timestamp(result.evaluated_at).tz_localize("UTC") if result.evaluated_at is not None else None

    def local(ts: Any, zone: str) -> str:
        if ts is None or pd.isna(ts):
            return ""
        try:
            stamp = pd.Timestamp(ts)
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
            return stamp.tz_convert(zone).strftime("%a %d %b %H:%M")
        except Exception:  # an unknown zone name
            return ""

    out["local_time"] = [local(at, z) for z in out["time_zone"]]
    out["next_allowed_local"] = [local(t, z) for t, z in zip(out["next_allowed_utc"], out["time_zone"])]
    return out[cols].sort_values(["region", "recipients"], ascending=[True, False]).reset_index(drop=True)


def campaign_audience(spec: Any, *, db: Any = None, from_db: bool = False) -> pd.DataFrame:
    """The recipients (msisdn, region) of a campaign: from the database's `audience` table when
    `from_db` and the campaign is there (already normalised, fast on 1M rows), else by loading
    the spec's audience file with `smslab.audience.load`."""
    from smslab import config, store
    from smslab.campaign import load_spec

    spec = load_spec(spec)
    path = config.db_path(db) if db != "none" else None
    if from_db and path is not None and Path(path).is_file():
        con = store.connect(path, read_only=True)
        try:
            frame = con.execute("SELECT msisdn, region FROM audience WHERE campaign_id = ? AND valid",
                                [spec.campaign_id]).df()
        finally:
            con.close()
        if len(frame):
            return frame
    from smslab.audience import load as load_audience

    return load_audience(spec.audience_path, default_region=spec.default_region).frame


def message_texts(spec: Any, regions: Iterable[str] | None = None) -> pd.DataFrame:
    """Every text the campaign sends (country × variant): sender, encoding, segments, the
    characters that force UCS-2, and the GSM-safe rewrite with the segments it saves."""
    from smslab.campaign import load_spec
    from smslab.segments import gsm_safe, segment_limit

    spec = load_spec(spec)
    regions = sorted(set(regions) if regions is not None else {r for r in spec.senders if r != "*"})
    rows = []
    for region in regions:
        sender = spec.sender_for(region)
        for variant in spec.variant_names():
            text = spec.text_for(region, variant)
            safe = gsm_safe(text)
            limit = segment_limit(region, sender.type if sender else None)
            rows.append({"region": region, "variant": variant, "sender_type": sender.type if sender else None,
                         "sender_id": sender.id if sender else None, "text": text,
                         "encoding": safe.before.encoding, "segments": safe.before.segments,
                         "non_gsm": "".join(safe.before.non_gsm), "gsm_safe_text": safe.text if safe.saved else "",
                         "segments_gsm_safe": safe.after.segments, "saved_per_message": safe.saved,
                         "max_segments": limit, "over_limit": bool(limit is not None and safe.before.segments > limit)})
    return pd.DataFrame(rows)


def sender_options(spec: Any, *, audience: pd.DataFrame | None = None, monthly_volume: int = 0, months: float = 3.0,
                   currency: str = "EUR", launch: Any = None) -> pd.DataFrame:
    """Short code vs long code (VLN) vs toll-free vs alphanumeric for every country of the spec's
    audience (`smslab.costs.plan`), one row per country × sender type; `monthly_volume=0` uses
    each country's audience size. `total_converted` is in `currency`; `recommended` marks the
    planner's choice; unknown prices stay unknown (never free)."""
    from datetime import date, datetime

    from smslab import costs
    from smslab.campaign import load_spec
    from smslab.segments import count

    spec = load_spec(spec)
    if audience is None:
        from smslab.audience import load as load_audience

        audience = load_audience(spec.audience_path, default_region=spec.default_region).frame
    volumes = audience["region"].dropna().value_counts()
    if isinstance(launch, str):
        launch = date.fromisoformat(launch) if launch else None
    elif isinstance(launch, datetime):
        launch = launch.date()
    if launch is None and spec.send_at_utc is not None:
        launch = spec.send_at_utc.date()
    rows = []
    for region, recipients in volumes.items():
        segs = max(count(spec.text_for(region, v)).segments for v in spec.variant_names())
        plan = costs.plan(region, monthly_volume=int(monthly_volume or recipients), months=months,
                          two_way=spec.two_way_for(region), purpose=spec.purpose, segments=segs,
                          launch=launch, currency=currency)
        for o in plan.options:
            rows.append({"region": region, "sender_type": o.sender_type, "allowed": o.allowed,
                         "recommended": o.sender_type == plan.recommended, "monthly_volume": plan.monthly_volume,
                         "segments": segs, "currency": o.currency, "setup": o.setup, "recurring": o.recurring,
                         "per_message": o.per_message, "total": o.total, "total_status": o.total_status,
                         "known_total": o.known_total, "total_converted": o.total_converted,
                         "target_currency": plan.target_currency, "lead_time_weeks": o.lead_time_weeks,
                         "launch_in_weeks": plan.launch_in_weeks, "ready_by_launch": o.ready_by_launch,
                         "throughput_mps": o.throughput_mps, "reason": o.reason,
                         "break_even": plan.break_even["explanation"], "why": plan.why if o.sender_type == plan.recommended else ""})
    return pd.DataFrame(rows)


def break_even_curve(options: pd.DataFrame, region: str, *, months: float, max_volume: int | None = None,
                     points: int = 41, currency: str = "EUR") -> pd.DataFrame:
    """Total cost over the term against monthly volume for each allowed sender type of one country
    whose fixed and per-message prices are known: setup + recurring + volume × months × per_message,
    converted to `currency`."""
    from smslab.costs import load_rates

    rates = load_rates()
    rows = options[(options["region"] == region) & options["allowed"] & options["per_message"].notna()
                   & options["setup"].notna() & options["recurring"].notna()]
    top = max_volume or int(max(options.loc[options["region"] == region, "monthly_volume"].max() * 3, 1000))
    volumes = np.linspace(0, top, points).round().astype(int)
    out = []
    for r in rows.itertuples():
        for v in volumes:
            total = r.setup + r.recurring + v * months * r.per_message
            out.append({"region": region, "sender_type": r.sender_type, "monthly_volume": int(v),
                        "total": rates.convert(total, r.currency, currency), "currency": currency})
    return pd.DataFrame(out, columns=["region", "sender_type", "monthly_volume", "total", "currency"])


def campaign_spec(spec: str | Path | None = None, *, campaign_id: str | None = None, db: Any = None) -> Any:
    """The spec a planning report is about: the `spec` file if given; else the spec stored with
    `campaign_id` (or the newest campaign) in the database; else the sample campaign.

    Example:
        >>> campaign_spec(db="none").name
        'black-friday-2026'
    """
    from smslab import config, store
    from smslab.campaign import load_spec, parse_spec
    from smslab.errors import InputError

    if spec:
        path = Path(spec).expanduser()
        return load_spec(path if path.is_absolute() or path.exists() else config.project_dir() / path)
    path = config.db_path(db) if db != "none" else None
    if path is not None and Path(path).is_file():
        con = store.connect(path, read_only=True)
        try:
            if campaign_id:
                rows = con.execute("SELECT campaign_id, spec FROM campaigns WHERE campaign_id = ?", [campaign_id]).fetchall()
                if not rows:
                    raise InputError(f"{path}: no campaign {campaign_id!r}")
            else:
                rows = con.execute("SELECT campaign_id, spec FROM campaigns ORDER BY created_at DESC LIMIT 1").fetchall()
        finally:
            con.close()
        if rows:
            import json

            data = json.loads(rows[0][1]) if isinstance(rows[0][1], str) else rows[0][1]
            data = {k: v for k, v in data.items() if v is not None}
            return parse_spec(data, source=f"{path}: campaign {rows[0][0]}", base_dir=config.project_dir())
    elif campaign_id:
        raise InputError(f"campaign {campaign_id!r}: the database {path} does not exist")
    return load_spec(config.data_dir() / "samples" / "campaign.yaml")
