"""Sending: check, write the outbox, submit what is allowed — never twice, never blocked.

One run of `send(spec)`:
1. runs the compliance check for the moment the messages will arrive (`send_at` when it is
   in the future, else now); a campaign-level block stops the run;
2. writes every allowed or deferred message to `messages` before anything is submitted,
   keyed by campaign + recipient + variant, so a re-run finds it instead of creating another;
3. submits, in batches, the queued messages whose recipient is allowed *now* (a deferred
   one waits for a later run after its `scheduled_at`, and is checked again then);
4. marks a batch `submit_attempted_at` before calling the provider: if the run dies during
   the call, the next run resubmits only through an idempotent provider, and otherwise marks
   the messages `unknown` instead of risking a second send;
5. paces each sender to its throughput (price sheet, else DEFAULT_MPS, or `throughput=`),
   retries temporary refusals with exponential backoff, never permanent ones, and never
   resends a message whose outcome is unknown through a non-idempotent provider.

See docs/providers.md for what each provider is sent and how its answers are classified.

Example:
    >>> from smslab.sending import send
    >>> # skipped in the tests: how many are deferred depends on the time of day (quiet hours)
    >>> send("data/samples/campaign.yaml", dry_run=True, db=":memory:")   # doctest: +SKIP
    {'campaign_id': 'black-friday-2026', 'submitted': 0, 'would_submit': 251, ...}
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from smslab import store
from smslab.campaign import CampaignSpec, load_spec
from smslab.clock import utcnow
from smslab.compliance import check
from smslab.errors import SpecError
from smslab.providers import Provider, get_provider
from smslab.sending.outbox import build_outbox, message_id, record_campaign, write_outbox
from smslab.sending.pacing import DEFAULT_MPS, Pacer, backoff, sender_rates
from smslab.sending.submission import submit

__all__ = ["send", "message_id", "Pacer", "backoff", "sender_rates", "DEFAULT_MPS", "BATCH_SIZE", "MAX_RETRIES"]

BATCH_SIZE = 1000  # the default when neither the caller nor the provider says
MAX_RETRIES = 4  # temporary refusals (429, 5xx, ESME_RTHROTTLED) retried this many times per batch


def _started(spec: CampaignSpec, db: str | os.PathLike[str] | None, con: duckdb.DuckDBPyConnection | None) -> bool:
    """Whether the campaign already has messages in the database: a later run that sends the
    recipients deferred by quiet hours, for which a past send_at is expected."""
    if con is None:
        from smslab import config

        path = config.db_path(db)
        if not path.exists():
            return False
        try:
            with store.connect(path, read_only=True) as reader:
                return store.campaign_started(reader, spec.campaign_id)
        except duckdb.Error:
            return False  # locked or unreadable: treated as a first run (the stricter answer)
    return store.campaign_started(con, spec.campaign_id)


def send(
    spec: str | os.PathLike[str] | CampaignSpec,
    *,
    provider: str | Provider | None = None,
    dry_run: bool = False,
    db: str | os.PathLike[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    now: datetime | None = None,
    batch_size: int | None = None,
    provider_options: dict[str, Any] | None = None,
    throughput: float | dict[str, float] | None = None,
    max_retries: int = MAX_RETRIES,
) -> dict[str, Any]:
    """Check the campaign and submit what is allowed. `now` (UTC) replays a later run (demo, tests).

    `batch_size` defaults to the provider's; `throughput` (messages/s, one number or per
    sender id) overrides the price sheet's figure for throttling.
    """
    spec = load_spec(spec)
    if isinstance(throughput, dict):
        senders = sorted({s.id for s in spec.senders.values()})
        unknown = sorted(set(throughput) - set(senders))
        if unknown:
            raise SpecError(
                f"{spec.source}: throughput (--throughput): no sender {', '.join(unknown)} "
                f"(its senders: {', '.join(senders)})"
            )
    replayed = now is not None
    now = now or utcnow()
    problem = spec.send_at_problem(now)
    if problem and not _started(spec, db, con):  # a first run: refused before anything is written
        raise SpecError(f"{spec.source}: {problem}")
    with store.using(con, db) as con:
        return _run(
            con,
            spec,
            provider,
            dry_run=dry_run,
            now=now,
            replayed=replayed,
            problem=problem,
            batch_size=batch_size,
            provider_options=provider_options,
            throughput=throughput,
            max_retries=max_retries,
        )


def _run(
    con: duckdb.DuckDBPyConnection,
    spec: CampaignSpec,
    provider: str | Provider | None,
    *,
    dry_run: bool,
    now: datetime,
    replayed: bool,
    problem: str | None,
    batch_size: int | None,
    provider_options: dict[str, Any] | None,
    throughput: float | dict[str, float] | None,
    max_retries: int,
) -> dict[str, Any]:
    """One run of `send` on an open connection (see the module docstring for the steps)."""
    instance: Provider | None = None
    try:
        send_at = spec.send_at_utc
        at = send_at if send_at is not None and send_at > now else now
        result = check(spec, at=at.replace(tzinfo=UTC), con=con, now=now, continuing=bool(problem))
        decisions = result.decisions
        summary: dict[str, Any] = {
            "campaign_id": spec.campaign_id,
            "submitted": 0,
            "deferred": int((decisions["decision"] == "deferred").sum()),
            "suppressed": int((decisions["decision"] == "blocked").sum()),
            "failed": 0,
            "dry_run": dry_run,
            "evaluated_at": at.isoformat(),
        }
        if result.blocking:
            summary["blocking"] = [f for f in result.findings if f["severity"] == "block"]
            return summary
        name = provider.name if isinstance(provider, Provider) else (provider or spec.provider or "simulator")
        if isinstance(provider, Provider):
            instance = provider
        else:  # credentials are checked here, before anything is written
            options = {"keywords": spec.keywords} if name == "simulator" else {}
            instance = get_provider(name, **{**options, **(provider_options or {})})
            if replayed:  # a replayed clock (demo, tests): the provider decides what is "in the future" by it
                instance.clock = lambda: now
        outbox = build_outbox(spec, decisions, send_at if send_at is not None and send_at > now else None)
        allowed = outbox.loc[outbox["decision"] == "allowed", ["message_id"]] if len(outbox) else None
        if dry_run:
            known = con.execute(
                "SELECT message_id FROM messages WHERE campaign_id = ? AND status <> 'queued'", [spec.campaign_id]
            ).df()
            summary["would_submit"] = (
                0 if allowed is None else int((~allowed["message_id"].isin(known["message_id"])).sum())
            )
            return summary
        record_campaign(con, spec, result.audience, now)
        if len(outbox):
            write_outbox(con, spec, outbox, instance, name)
        con.register(
            "_allowed", allowed if allowed is not None else pd.DataFrame({"message_id": pd.Series([], dtype=str)})
        )
        # in table order: DuckDB updates rows in storage order ~100x faster than scattered ones
        due = con.execute(
            """SELECT message_id, msisdn, region, sender_type, sender_id, text, encoding, segments,
                                    scheduled_at, submit_attempted_at, rowid AS _row
                             FROM messages SEMI JOIN _allowed USING (message_id)
                             WHERE campaign_id = ? AND status = 'queued' ORDER BY rowid""",
            [spec.campaign_id],
        ).df()
        con.unregister("_allowed")
        interrupted = due[due["submit_attempted_at"].notna()]
        if len(interrupted) and not instance.idempotent:
            con.execute(
                """UPDATE messages SET status = 'unknown', status_at = ?,
                               error_code = 'interrupted submission: not resent, check the provider'
                           WHERE message_id IN (SELECT unnest(?))""",
                [now, interrupted["message_id"].tolist()],
            )
            due = due[due["submit_attempted_at"].isna()]
            summary["interrupted"] = len(interrupted)
        pacer = Pacer(sender_rates(due, instance, throughput))
        counts = submit(
            con, spec, instance, due, now, batch_size or instance.batch_size or BATCH_SIZE, pacer, max_retries
        )
        summary.update(counts)
        summary["deferred"] = (
            int(
                store.scalar(
                    con, "SELECT count(*) FROM messages WHERE campaign_id = ? AND status = 'queued'", [spec.campaign_id]
                )
            )
            - counts["retry_later"]
        )
        summary["next_run_at"] = store.scalar(
            con,
            "SELECT min(scheduled_at) FROM messages WHERE campaign_id = ? AND status = 'queued'",
            [spec.campaign_id],
        )
        return summary
    finally:
        if instance is not None and not isinstance(provider, Provider):
            instance.close()
