"""Planning views for the campaign_setup and cost_estimate notebooks.

Before anything is sent: the audience by country and number type, the compliance decisions,
send windows by time zone, message texts with their segments and GSM-safe rewrites, and the
sender-type options with their costs. Thin over `compliance`, `segments` and `pricing`.

Example:
    >>> from smslab import config
    >>> from smslab.reporting.views import planning
    >>> planning.message_texts(config.project_dir() / "data/samples/campaign.yaml").columns[0]
    'region'
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from smslab import sql


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
        try:
            scratch.execute(f"ATTACH {sql.literal(path)} AS smslab_src (READ_ONLY)")
            try:
                scratch.execute("INSERT INTO consent SELECT * FROM smslab_src.consent")
            finally:
                scratch.execute("DETACH smslab_src")
        except duckdb.Error as exc:  # locked by a writer, not a DuckDB file, no consent table…
            problem = f"{path} could not be read ({str(exc).splitlines()[0]})"
    result = compliance.check(spec, at=at, con=scratch)
    if problem:
        result.findings.append(
            {
                "rule": "consent_ledger_not_checked",
                "severity": "warn",
                "country": None,
                "recipients": 0,
                "source": None,
                "message": f"opt-outs in the consent ledger were not checked: {problem}",
            }
        )
    return result


def audience_profile(result: Any) -> pd.DataFrame:
    """Recipients by country and number type (from a `preflight` / `compliance.check` result)."""
    frame = result.audience
    if frame is None or not len(frame):
        return pd.DataFrame(columns=["region", "number_type", "recipients"])
    out = (
        frame.assign(region=frame["region"].fillna("unknown"), number_type=frame["number_type"].fillna("unknown"))
        .groupby(["region", "number_type"])
        .size()
        .rename("recipients")
        .reset_index()
    )
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
    reasons = (
        d[d["decision"] != "allowed"]
        .assign(region=lambda x: x["region"].fillna("unknown"))
        .groupby(["region", "reason"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values("n", ascending=False)
        .groupby("region")
        .apply(
            lambda g: ", ".join(f"{r} ({n})" for r, n in zip(g["reason"], g["n"], strict=False)), include_groups=False
        )
    )
    table["reasons"] = reasons.reindex(table.index).fillna("")
    return table.reset_index().sort_values("total", ascending=False).reset_index(drop=True)


def send_windows(result: Any) -> pd.DataFrame:
    """Per country and time zone: the local time at the checked moment, recipients allowed now,
    deferred by quiet hours (and the earliest next allowed time, UTC and local), blocked."""
    a, d = result.audience, result.decisions
    cols = [
        "region",
        "time_zone",
        "local_time",
        "recipients",
        "allowed",
        "deferred",
        "blocked",
        "next_allowed_utc",
        "next_allowed_local",
    ]
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
    out["next_allowed_local"] = [local(t, z) for t, z in zip(out["next_allowed_utc"], out["time_zone"], strict=False)]
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
            frame = con.execute(
                "SELECT msisdn, region FROM audience WHERE campaign_id = ? AND valid", [spec.campaign_id]
            ).df()
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
            rows.append(
                {
                    "region": region,
                    "variant": variant,
                    "sender_type": sender.type if sender else None,
                    "sender_id": sender.id if sender else None,
                    "text": text,
                    "encoding": safe.before.encoding,
                    "segments": safe.before.segments,
                    "non_gsm": "".join(safe.before.non_gsm),
                    "gsm_safe_text": safe.text if safe.saved else "",
                    "segments_gsm_safe": safe.after.segments,
                    "saved_per_message": safe.saved,
                    "max_segments": limit,
                    "over_limit": bool(limit is not None and safe.before.segments > limit),
                }
            )
    return pd.DataFrame(rows)


def sender_options(
    spec: Any,
    *,
    audience: pd.DataFrame | None = None,
    monthly_volume: int = 0,
    months: float = 3.0,
    currency: str = "EUR",
    launch: Any = None,
) -> pd.DataFrame:
    """Short code vs long code (VLN) vs toll-free vs alphanumeric for every country of the spec's
    audience (`smslab.pricing.plan`), one row per country × sender type; `monthly_volume=0` uses
    each country's audience size. `total_converted` is in `currency`; `recommended` marks the
    planner's choice; unknown prices stay unknown (never free)."""
    from datetime import date, datetime

    from smslab import pricing
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
        plan = pricing.plan(
            region,
            monthly_volume=int(monthly_volume or recipients),
            months=months,
            two_way=spec.two_way_for(region),
            purpose=spec.purpose,
            segments=segs,
            launch=launch,
            currency=currency,
        )
        for o in plan.options:
            rows.append(
                {
                    "region": region,
                    "sender_type": o.sender_type,
                    "allowed": o.allowed,
                    "recommended": o.sender_type == plan.recommended,
                    "monthly_volume": plan.monthly_volume,
                    "segments": segs,
                    "currency": o.currency,
                    "setup": o.setup,
                    "recurring": o.recurring,
                    "per_message": o.per_message,
                    "total": o.total,
                    "total_status": o.total_status,
                    "known_total": o.known_total,
                    "total_converted": o.total_converted,
                    "target_currency": plan.target_currency,
                    "lead_time_weeks": o.lead_time_weeks,
                    "launch_in_weeks": plan.launch_in_weeks,
                    "ready_by_launch": o.ready_by_launch,
                    "throughput_mps": o.throughput_mps,
                    "reason": o.reason,
                    "break_even": plan.break_even["explanation"],
                    "why": plan.why if o.sender_type == plan.recommended else "",
                }
            )
    return pd.DataFrame(rows)


def break_even_curve(
    options: pd.DataFrame,
    region: str,
    *,
    months: float,
    max_volume: int | None = None,
    points: int = 41,
    currency: str = "EUR",
) -> pd.DataFrame:
    """Total cost over the term against monthly volume for each allowed sender type of one country
    whose fixed and per-message prices are known: setup + recurring + volume × months × per_message,
    converted to `currency`."""
    from smslab.pricing import load_rates

    rates = load_rates()
    rows = options[
        (options["region"] == region)
        & options["allowed"]
        & options["per_message"].notna()
        & options["setup"].notna()
        & options["recurring"].notna()
    ]
    top = max_volume or int(max(options.loc[options["region"] == region, "monthly_volume"].max() * 3, 1000))
    volumes = np.linspace(0, top, points).round().astype(int)
    out = []
    for r in rows.itertuples():
        for v in volumes:
            total = r.setup + r.recurring + v * months * r.per_message
            out.append(
                {
                    "region": region,
                    "sender_type": r.sender_type,
                    "monthly_volume": int(v),
                    "total": rates.convert(total, r.currency, currency),
                    "currency": currency,
                }
            )
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
    db_file = config.db_path(db) if db != "none" else None
    if db_file is not None and Path(db_file).is_file():
        con = store.connect(db_file, read_only=True)
        try:
            if campaign_id:
                rows = con.execute(
                    "SELECT campaign_id, spec FROM campaigns WHERE campaign_id = ?", [campaign_id]
                ).fetchall()
                if not rows:
                    raise InputError(f"{db_file}: no campaign {campaign_id!r}")
            else:
                rows = con.execute(
                    "SELECT campaign_id, spec FROM campaigns ORDER BY created_at DESC LIMIT 1"
                ).fetchall()
        finally:
            con.close()
        if rows:
            import json

            data = json.loads(rows[0][1]) if isinstance(rows[0][1], str) else rows[0][1]
            data = {k: v for k, v in data.items() if v is not None}
            return parse_spec(data, source=f"{db_file}: campaign {rows[0][0]}", base_dir=config.project_dir())
    elif campaign_id:
        raise InputError(f"campaign {campaign_id!r}: the database {db_file} does not exist")
    return load_spec(config.data_dir() / "samples" / "campaign.yaml")
