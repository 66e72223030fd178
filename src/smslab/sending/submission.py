"""Submission: batches handed to the provider, answers recorded, temporary refusals retried.

A batch is marked `submit_attempted_at` before the provider is called; every message gets
exactly one recorded answer; temporary refusals are retried with backoff, permanent ones never.

Example:
    >>> from smslab.sending.submission import submit   # used by smslab.sending.send
    >>> submit.__name__
    'submit'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from smslab.campaign import CampaignSpec
from smslab.errors import AuthenticationError, TransientError
from smslab.providers import OutboundMessage, Provider, SubmitResult
from smslab.receiving.status_rollup import refresh_statuses
from smslab.sending.pacing import Pacer, backoff

RECORD_EVERY = 250_000  # the columnar path records answers this often


def outbound_messages(spec: CampaignSpec, chunk: pd.DataFrame, now: datetime) -> list[OutboundMessage]:
    per_region: dict[Any, tuple] = {}
    regions = chunk["region"].tolist()
    for region in set(regions):
        sender = spec.sender_for(region)
        per_region[region] = (spec.two_way_for(region), sender.opt_out_short_code if sender else None)
    scheduled = chunk["scheduled_at"]
    later = (scheduled.notna() & (scheduled > pd.Timestamp(now))).tolist()
    moments = [t if go else now for t, go in zip(scheduled.dt.to_pydatetime().tolist(), later, strict=False)]
    cid = spec.campaign_id
    return [
        OutboundMessage(
            message_id=m,
            campaign_id=cid,
            msisdn=n,
            region=r,
            sender_type=st,
            sender_id=si,
            text=t,
            encoding=e,
            segments=int(g),
            scheduled_at=at,
            two_way=per_region[r][0],
            opt_out_short_code=per_region[r][1],
            schedule=go,
        )
        for m, n, r, st, si, t, e, g, at, go in zip(
            chunk["message_id"].tolist(),
            chunk["msisdn"].tolist(),
            regions,
            chunk["sender_type"].tolist(),
            chunk["sender_id"].tolist(),
            chunk["text"].tolist(),
            chunk["encoding"].tolist(),
            chunk["segments"].tolist(),
            moments,
            later,
            strict=False,
        )
    ]


def submit_with_retries(
    provider: Provider, batch: list[OutboundMessage], pacer: Pacer, sender: Any, max_retries: int
) -> tuple[list[SubmitResult], dict[str, int]]:
    """Submit one batch; retry temporary refusals with backoff, never permanent ones.

    Every message gets exactly one final SubmitResult. A message refused only temporarily
    after the last retry comes back with status 'queued' (certainly not sent: a later run
    takes it); a batch whose outcome is unknown and cannot safely be resent gets 'unknown'.
    """
    final: dict[str, SubmitResult] = {}
    pending = batch
    stats = {"retries": 0}
    attempt = 0
    while pending:
        pacer.wait(sender, len(pending))
        try:
            results = provider.submit(pending)
        except AuthenticationError as exc:
            if final:  # answers from earlier attempts must still be recorded
                exc.results = list(final.values()) + (
                    exc.results
                    or [
                        SubmitResult(m.message_id, accepted=False, status="queued", error_code="credentials refused")
                        for m in pending
                    ]
                )
            raise
        except TransientError as exc:
            retryable = exc.not_sent or provider.idempotent
            if retryable and attempt < max_retries:
                attempt += 1
                stats["retries"] += 1
                pacer.sleep(backoff(attempt, exc.retry_after))
                continue
            status = "queued" if exc.not_sent else "unknown"
            for m in pending:
                final[m.message_id] = SubmitResult(
                    m.message_id, accepted=False, status=status, error_code=str(exc.code)[:200], temporary=exc.not_sent
                )
            break
        again = []
        by_id = {m.message_id: m for m in pending}
        for r in results:
            if not r.accepted and r.temporary and attempt < max_retries:
                again.append(by_id[r.message_id])
            else:
                if not r.accepted and r.temporary:
                    r.status = "queued"  # certainly refused: a later run sends it
                final[r.message_id] = r
        retried = {m.message_id for m in again}
        missing = [m for m in pending if m.message_id not in final and m.message_id not in retried]
        for m in missing:  # a provider that forgot a message: we cannot know whether it went
            final[m.message_id] = SubmitResult(
                m.message_id,
                accepted=False,
                status="unknown",
                error_code="no answer from the provider for this message",
            )
        if again:
            attempt += 1
            stats["retries"] += 1
            pacer.sleep(backoff(attempt))
        pending = again
    return [final[m.message_id] for m in batch], stats


def record_results(con: duckdb.DuckDBPyConnection, results: list[SubmitResult], now: datetime) -> None:
    def status(r: SubmitResult) -> str:
        if r.accepted:
            return r.status or "submitted"
        return r.status if r.status not in ("submitted", None) else "failed"

    frame = pd.DataFrame(
        {
            "message_id": [r.message_id for r in results],
            "provider_message_id": [r.provider_message_id for r in results],
            "status": [status(r) for r in results],
            "error_code": [r.error_code for r in results],
            "price": pd.array([r.price for r in results], dtype="Float64"),
            "currency": [r.currency for r in results],
            "parts": pd.array([r.parts for r in results], dtype="Int64"),
        }
    )
    record_frame(con, frame, now)


def record_frame(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, now: datetime) -> None:
    """Record the provider's answers (message_id, provider_message_id, status, error_code, price,
    currency, parts) in one transaction; a message answered `queued` (temporarily refused, so
    certainly not sent) goes back to the queue unattempted."""
    con.register("_res", frame)
    con.execute("BEGIN TRANSACTION")
    con.execute(
        """UPDATE messages SET status = _res.status, status_at = ?, error_code = _res.error_code,
                       price = _res.price, currency = _res.currency,
                       price_source = CASE WHEN _res.price IS NOT NULL THEN 'provider' END,
                       segments = coalesce(_res.parts, messages.segments),
                       submitted_at = CASE WHEN _res.status = 'queued' THEN NULL ELSE ? END,
                       submit_attempted_at = CASE WHEN _res.status = 'queued' THEN NULL
                                                  ELSE messages.submit_attempted_at END
                   FROM _res WHERE messages.message_id = _res.message_id""",
        [now, now],
    )
    # only where it differs: an unchanged value would still be rewritten
    con.execute("""UPDATE messages SET provider_message_id = _res.provider_message_id FROM _res
                   WHERE messages.message_id = _res.message_id AND _res.provider_message_id IS NOT NULL
                     AND messages.provider_message_id IS DISTINCT FROM _res.provider_message_id""")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sent_ids AS SELECT provider_message_id FROM _res "
        "WHERE provider_message_id IS NOT NULL"
    )
    refresh_statuses(con, "_sent_ids")  # reports that arrived before we knew the id
    con.execute("COMMIT")
    con.unregister("_res")


def submit_frames(
    con: duckdb.DuckDBPyConnection, spec: CampaignSpec, provider: Any, due: pd.DataFrame, now: datetime, batch_size: int
) -> dict[str, int]:
    """The columnar path for an idempotent provider with `submit_frame` (the simulator).

    Resubmitting to an idempotent provider is harmless, so batches are not marked as attempted
    and answers are recorded once per RECORD_EVERY messages: a crash in between only means the
    next run submits those messages again and gets the same answers.
    """
    counts = {"submitted": 0, "failed": 0, "unknown": 0, "retry_later": 0, "retries": 0}
    frame = due[["message_id", "msisdn", "region", "sender_id", "segments", "scheduled_at"]].copy()
    frame["campaign_id"] = spec.campaign_id
    codes, regions = pd.factorize(frame["region"].astype(object).where(frame["region"].notna(), None))
    per_region = []  # (two_way, opt-out short code) of each region, then of "no region" (code -1)
    for region in [*regions, None]:
        sender = spec.sender_for(region)
        per_region.append((bool(spec.two_way_for(region)), sender.opt_out_short_code if sender else None))
    frame["two_way"] = np.array([two for two, _ in per_region], dtype=bool)[codes]
    frame["opt_out_short_code"] = np.array([code for _, code in per_region], dtype=object)[codes]
    stamp = pd.Timestamp(now)
    frame["scheduled_at"] = frame["scheduled_at"].where(frame["scheduled_at"] > stamp, stamp)
    bar = tqdm(total=len(frame), desc=f"sending {spec.campaign_id}", unit="msg", disable=len(frame) < 5000)
    pending: list[pd.DataFrame] = []
    background = callable(getattr(provider, "flush", None))  # the provider writes behind; flush before recording
    for start in range(0, len(frame), batch_size):
        batch = frame.iloc[start : start + batch_size]
        answers = provider.submit_frame(batch, wait=False) if background else provider.submit_frame(batch)
        pending.append(answers)
        counts["submitted"] += int(answers["accepted"].sum())
        counts["failed"] += int((~answers["accepted"]).sum())
        if sum(len(p) for p in pending) >= RECORD_EVERY:
            if background:
                provider.flush()
            record_frame(con, pd.concat(pending, ignore_index=True), now)
            pending = []
        bar.update(len(answers))
    if background:
        provider.flush()
    if pending:
        record_frame(con, pd.concat(pending, ignore_index=True), now)
    bar.close()
    return counts


def submit(
    con: duckdb.DuckDBPyConnection,
    spec: CampaignSpec,
    provider: Provider,
    due: pd.DataFrame,
    now: datetime,
    batch_size: int,
    pacer: Pacer,
    max_retries: int,
) -> dict[str, int]:
    """Submit `due` in batches of one sender each; returns submitted/failed/unknown/retry_later/retries."""
    if provider.idempotent and hasattr(provider, "submit_frame") and not any(pacer.rates.values()):
        return submit_frames(con, spec, provider, due, now, batch_size)
    counts = {"submitted": 0, "failed": 0, "unknown": 0, "retry_later": 0, "retries": 0}
    due = due.sort_values(["sender_id", "_row"], kind="stable")  # per sender, in table order
    bar = tqdm(total=len(due), desc=f"sending {spec.campaign_id}", unit="msg", disable=len(due) < 5000)
    senders = due["sender_id"].to_numpy()
    starts = [0] + [i for i in range(1, len(due)) if senders[i] != senders[i - 1]] if len(due) else []
    bounds = list(zip(starts, starts[1:] + [len(due)], strict=False))
    for lo, hi in bounds:
        sender = senders[lo]
        for start in range(lo, hi, batch_size):
            chunk = due.iloc[start : min(start + batch_size, hi)]
            con.register("_attempt", chunk[["message_id"]])
            con.execute(
                "UPDATE messages SET submit_attempted_at = ? FROM _attempt "
                "WHERE messages.message_id = _attempt.message_id",
                [now],
            )
            con.unregister("_attempt")
            try:
                results, stats = submit_with_retries(
                    provider, outbound_messages(spec, chunk, now), pacer, sender, max_retries
                )
            except AuthenticationError as exc:  # unsent messages go back to the queue, and the run stops
                if exc.results:
                    record_results(con, exc.results, now)
                else:
                    con.register("_attempt", chunk[["message_id"]])
                    con.execute(
                        "UPDATE messages SET submit_attempted_at = NULL FROM _attempt "
                        "WHERE messages.message_id = _attempt.message_id"
                    )
                    con.unregister("_attempt")
                raise
            record_results(con, results, now)
            counts["retries"] += stats["retries"]
            for r in results:
                if r.accepted:
                    counts["submitted"] += 1
                elif r.status == "queued":
                    counts["retry_later"] += 1
                elif r.status == "unknown":
                    counts["unknown"] += 1
                else:
                    counts["failed"] += 1
            bar.update(len(chunk))
    bar.close()
    return counts
