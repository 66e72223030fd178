"""The demo: a simulated multi-country two-way campaign, end to end.

plan (the sample spec) → check → send through the simulator → its reports and replies land
in the journal → load into DuckDB → run the notebooks → HTML in reports/.

Running it again is safe: the campaign id comes from the size and seed, messages are
keyed by campaign + recipient + variant, and the loader remembers how far it read, so a
second run adds nothing and counts nothing twice.

Example:
    >>> from smslab.demo import demo
    >>> # skipped in the tests: the whole flow, slow (tests/test_demo.py runs it)
    >>> demo(messages=50, reports=False, db=":memory:")["messages"] > 0   # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from smslab import config, store, synthetic
from smslab.campaign import parse_spec
from smslab.clock import utcnow
from smslab.receiving.journal_load import load
from smslab.sending import send

REPORTS = ["campaign_setup", "cost_estimate", "delivery_funnel", "optout_keywords", "country_brief"]


def next_send_at(now: datetime) -> datetime:
    """The demo's launch: the first Tuesday after `now`, 14:00 UTC (a working day everywhere)."""
    days = (1 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=14, minute=0, second=0, microsecond=0)


def demo_spec(messages: int, seed: int, workdir: Path, now: datetime):
    """The sample campaign, with a synthetic audience of `messages` recipients."""
    sample = config.data_dir() / "samples" / "campaign.yaml"
    data = yaml.safe_load(sample.read_text(encoding="utf-8"))
    workdir.mkdir(parents=True, exist_ok=True)
    audience = workdir / f"audience-{messages}-{seed}.csv"
    if not audience.exists():
        synthetic.audience(messages, seed=seed, invalid=max(2, messages // 100)).to_csv(audience, index=False)
    data["name"] = f"demo-{messages}-{seed}"
    data["audience"] = str(audience)
    data["send_at"] = next_send_at(now).isoformat() + "+00:00"
    return parse_spec(data, source=str(sample), base_dir=sample.parent)


def demo(
    *,
    messages: int = 400,
    seed: int = 7,
    db: str | os.PathLike[str] | None = None,
    reports: bool = True,
    landing: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
    simulator: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the whole flow on simulated data; returns the database, the HTML reports and the message count.

    `simulator` tunes the simulator (e.g. `{"reply_rate": 0.3}`); see `SimulatorProvider`.
    """
    now = now or utcnow()
    db_path = config.db_path(db)
    landing_path = config.landing_dir(landing)
    # the synthetic audience goes next to the database (data/demo/ for the default one), never into
    # the checkout when the database is elsewhere (tests write only under their temporary folders)
    spec = demo_spec(messages, seed, Path(db_path).parent / "demo", now)
    con = store.connect(db_path)
    try:
        options = {"seed": seed, "landing": landing_path, **(simulator or {})}
        runs = [send(spec, con=con, now=now, provider_options=options)]
        # deferred recipients (quiet hours in their time zone) go in later runs, checked again each time
        for _ in range(5):
            next_run = runs[-1].get("next_run_at")
            if not next_run or not runs[-1].get("deferred"):
                break
            runs.append(send(spec, con=con, now=next_run, provider_options=options))
        loaded = load(con=con, landing=landing_path)
        total = int(store.scalar(con, "SELECT count(*) FROM messages WHERE campaign_id = ?", [spec.campaign_id]))
    finally:
        con.close()
    html = []
    if reports:
        from smslab.reporting import run_report

        countries = ",".join(sorted(cc for cc in spec.senders if cc != "*"))
        for name in REPORTS:
            parameters = (
                {"countries": countries}
                if name == "country_brief"
                else {"db": str(db_path), "campaign_id": spec.campaign_id}
            )
            result = run_report(name, parameters=parameters, output_dir=output_dir)
            html.append(result["html"])
    return {
        "db": str(db_path),
        "reports": html,
        "messages": total,
        "campaign_id": spec.campaign_id,
        "runs": [{k: v for k, v in r.items() if k in ("submitted", "deferred", "suppressed", "failed")} for r in runs],
        "loaded": loaded,
    }
