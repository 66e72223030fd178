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

import hashlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from smslab import store
from smslab.campaign import CampaignSpec, load_spec
from smslab.compliance import check
from smslab.errors import SpecError
from smslab.providers import AuthenticationError, OutboundMessage, Provider, SubmitResult, TransientError, get_provider
from smslab.receiving.status_rollup import refresh_statuses
from smslab.segments import count

BATCH_SIZE = 1000     # the default when neither the caller nor the provider says
DEFAULT_MPS = 5.0     # a sender whose throughput no price sheet knows: conservative
MAX_RETRIES = 4       # temporary refusals (429, 5xx, ESME_RTHROTTLED) retried this many times per batch
BASE_BACKOFF = 0.5    # seconds before the first retry, doubled each time
MAX_BACKOFF = 30.0
RECORD_EVERY = 250_000  # the columnar path records answers this often


def message_id(campaign_id: str, msisdn: str, variant: str) -> str:
    """The idempotency key of a message: the same campaign, recipient and variant → the same id."""
    return hashlib.sha1(f"{campaign_id}|{msisdn}|{variant}".encode()).hexdigest()[:24]


def _record_campaign(con: duckdb.DuckDBPyConnection, spec: CampaignSpec, audience: pd.DataFrame, now: datetime) -> None:
    con.execute(
        "INSERT INTO campaigns SELECT ?, ?, ?, ?, ?, ? WHERE ? NOT IN (SELECT campaign_id FROM campaigns)",
        [spec.campaign_id, spec.name, spec.purpose, spec.two_way, json.dumps(spec.to_json_dict()), now,
         spec.campaign_id],
    )
    con.execute("UPDATE campaigns SET spec = ?, purpose = ?, two_way = ? WHERE campaign_id = ?",
                [json.dumps(spec.to_json_dict()), spec.purpose, spec.two_way, spec.campaign_id])
    frame = pd.DataFrame({
        "campaign_id": spec.campaign_id,
        "msisdn": audience["msisdn"],
        "region": audience["region"],
        "valid": audience["valid"],
        "number_type": audience["number_type"],
        "time_zone": audience["time_zone"],
        "consent_at": pd.to_datetime(audience["consent_at"]),
        "consent_source": audience["consent_source"],
        "attributes": audience["attributes"],
    })
    con.register("_aud", frame)
    con.execute("""INSERT INTO audience SELECT * FROM _aud
                   ANTI JOIN (SELECT msisdn FROM audience WHERE campaign_id = ?) USING (msisdn)""", [spec.campaign_id])
    con.unregister("_aud")


def _outbox(spec: CampaignSpec, decisions: pd.DataFrame, scheduled_default: datetime | None) -> pd.DataFrame:
    """One row per allowed or deferred recipient, with variant, text, encoding and segments (vectorised)."""
    rows = decisions.loc[decisions["decision"].isin(["allowed", "deferred"]),
                         ["msisdn", "region", "decision", "next_allowed_at"]].copy()
    if rows.empty:
        return rows
    hashing = duckdb.connect()  # sha1 of a million short strings: vectorised and on both cores
    msisdns = pa.array(rows["msisdn"].astype(str).to_numpy(dtype=object), pa.string())
    hashing.register("_m", pa.table({"m": msisdns}))
    prefix = f"{spec.campaign_id}|"
    names = spec.variant_names()
    if len(names) > 1:  # == spec.variant_for(m): the first 4 bytes of sha1(campaign|msisdn), modulo
        picks = hashing.execute("SELECT (('0x' || sha1(? || m)[1:8])::UBIGINT % ?)::INTEGER AS k FROM _m",
                                [prefix, len(names)]).fetchnumpy()["k"]
        rows["variant"] = np.asarray(names, dtype=object)[np.asarray(picks, dtype=np.int64)]
    else:
        rows["variant"] = "A"
    rows["region"] = rows["region"].astype(object).where(rows["region"].notna(), None)
    texts = []
    for region, variant in rows[["region", "variant"]].drop_duplicates().itertuples(index=False):
        text = spec.text_for(region, variant)
        counted = count(text)
        sender = spec.sender_for(region)
        texts.append((region, variant, text, counted.encoding, int(counted.segments),
                      sender.type if sender else None, sender.id if sender else None))
    table = pd.DataFrame(texts, columns=["region", "variant", "text", "encoding", "segments", "sender_type",
                                         "sender_id"])
    key = rows["region"].fillna("\0") + "|" + rows["variant"]
    table.index = table["region"].fillna("\0") + "|" + table["variant"]
    for column in ("text", "encoding", "segments", "sender_type", "sender_id"):
        rows[column] = key.map(table[column]).to_numpy()
    hashing.register("_mv", pa.table({"m": msisdns,
                                      "v": pa.array(rows["variant"].astype(str).to_numpy(dtype=object), pa.string())}))
    # == message_id(campaign, msisdn, variant)
    rows["message_id"] = hashing.execute("SELECT sha1(? || m || '|' || v)[1:24] AS id FROM _mv",
                                         [prefix]).fetchnumpy()["id"].astype(object)
    hashing.close()
    default = pd.NaT if scheduled_default is None else pd.Timestamp(scheduled_default)
    rows["scheduled_at"] = pd.to_datetime(rows["next_allowed_at"]).where(rows["decision"] == "deferred", default)
    return rows


def _write_outbox(con: duckdb.DuckDBPyConnection, spec: CampaignSpec, rows: pd.DataFrame, provider: Provider,
                  name: str) -> None:
    ids = provider.preassigned_ids(rows["message_id"])
    ids = None if ids is None else ids.to_numpy(dtype=object)
    frame = pd.DataFrame({
        "message_id": rows["message_id"], "campaign_id": spec.campaign_id, "variant": rows["variant"],
        "msisdn": rows["msisdn"], "region": rows["region"], "sender_type": rows["sender_type"],
        "sender_id": rows["sender_id"], "provider": name, "text": rows["text"],
        "encoding": rows["encoding"], "segments": rows["segments"].astype("int64"),
        "scheduled_at": rows["scheduled_at"], "provider_message_id": ids,
    })
    con.register("_out", frame)
    con.execute("BEGIN TRANSACTION")
    con.execute("""
        INSERT INTO messages (message_id, campaign_id, variant, msisdn, region, sender_type, sender_id, provider,
                              text, encoding, segments, scheduled_at, provider_message_id, status, status_at)
        SELECT message_id, campaign_id, variant, msisdn, region, sender_type, sender_id, provider,
               text, encoding, segments, scheduled_at, provider_message_id::VARCHAR, 'queued',
               current_timestamp::TIMESTAMP
        FROM _out ANTI JOIN messages USING (message_id)""")
    # a queued message follows the latest decision about when it may go
    con.execute("""UPDATE messages SET scheduled_at = _out.scheduled_at FROM _out
                   WHERE messages.message_id = _out.message_id AND messages.status = 'queued'
                     AND messages.scheduled_at IS DISTINCT FROM _out.scheduled_at""")
    con.execute("COMMIT")
    con.unregister("_out")


def _sender_rates(due: pd.DataFrame, provider: Provider,
                  throughput: float | dict[str, float] | None) -> dict[Any, float | None]:
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
                from smslab.costs import load_prices

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

    def __init__(self, rates: dict[Any, float | None], *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
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


def _messages(spec: CampaignSpec, chunk: pd.DataFrame, now: datetime) -> list[OutboundMessage]:
    per_region: dict[Any, tuple] = {}
    regions = chunk["region"].tolist()
    for region in set(regions):
        sender = spec.sender_for(region)
        per_region[region] = (spec.two_way_for(region), sender.opt_out_short_code if sender else None)
    scheduled = chunk["scheduled_at"]
    later = (scheduled.notna() & (scheduled > pd.Timestamp(now))).tolist()
    moments = [t if go else now for t, go in zip(scheduled.dt.to_pydatetime().tolist(), later, strict=False)]
    cid = spec.campaign_id
    return [OutboundMessage(message_id=m, campaign_id=cid, msisdn=n, region=r, sender_type=st, sender_id=si,
                            text=t, encoding=e, segments=int(g), scheduled_at=at,
                            two_way=per_region[r][0], opt_out_short_code=per_region[r][1], schedule=go)
            for m, n, r, st, si, t, e, g, at, go in zip(
                chunk["message_id"].tolist(), chunk["msisdn"].tolist(), regions, chunk["sender_type"].tolist(),
                chunk["sender_id"].tolist(), chunk["text"].tolist(), chunk["encoding"].tolist(),
                chunk["segments"].tolist(), moments, later, strict=False)]


def _submit_with_retries(provider: Provider, batch: list[OutboundMessage], pacer: Pacer, sender: Any,
                         max_retries: int) -> tuple[list[SubmitResult], dict[str, int]]:
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
                exc.results = list(final.values()) + (exc.results or [
                    SubmitResult(m.message_id, accepted=False, status="queued", error_code="credentials refused")
                    for m in pending])
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
                final[m.message_id] = SubmitResult(m.message_id, accepted=False, status=status,
                                                   error_code=str(exc.code)[:200], temporary=exc.not_sent)
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
            final[m.message_id] = SubmitResult(m.message_id, accepted=False, status="unknown",
                                               error_code="no answer from the provider for this message")
        if again:
            attempt += 1
            stats["retries"] += 1
            pacer.sleep(backoff(attempt))
        pending = again
    return [final[m.message_id] for m in batch], stats


def _record_results(con: duckdb.DuckDBPyConnection, results: list[SubmitResult], now: datetime) -> None:
    def status(r: SubmitResult) -> str:
        if r.accepted:
            return r.status or "submitted"
        return r.status if r.status not in ("submitted", None) else "failed"

    frame = pd.DataFrame({
        "message_id": [r.message_id for r in results],
        "provider_message_id": [r.provider_message_id for r in results],
        "status": [status(r) for r in results],
        "error_code": [r.error_code for r in results],
        "price": pd.array([r.price for r in results], dtype="Float64"),
        "currency": [r.currency for r in results],
        "parts": pd.array([r.parts for r in results], dtype="Int64"),
    })
    _record_frame(con, frame, now)


def _record_frame(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, now: datetime) -> None:
    """Record the provider's answers (message_id, provider_message_id, status, error_code, price,
    currency, parts) in one transaction; a message answered `queued` (temporarily refused, so
    certainly not sent) goes back to the queue unattempted."""
    con.register("_res", frame)
    con.execute("BEGIN TRANSACTION")
    con.execute("""UPDATE messages SET status = _res.status, status_at = ?, error_code = _res.error_code,
                       price = _res.price, currency = _res.currency,
                       price_source = CASE WHEN _res.price IS NOT NULL THEN 'provider' END,
                       segments = coalesce(_res.parts, messages.segments),
                       submitted_at = CASE WHEN _res.status = 'queued' THEN NULL ELSE ? END,
                       submit_attempted_at = CASE WHEN _res.status = 'queued' THEN NULL
                                                  ELSE messages.submit_attempted_at END
                   FROM _res WHERE messages.message_id = _res.message_id""", [now, now])
    # only where it differs: an unchanged value would still be rewritten
    con.execute("""UPDATE messages SET provider_message_id = _res.provider_message_id FROM _res
                   WHERE messages.message_id = _res.message_id AND _res.provider_message_id IS NOT NULL
                     AND messages.provider_message_id IS DISTINCT FROM _res.provider_message_id""")
    con.execute("CREATE OR REPLACE TEMP TABLE _sent_ids AS SELECT provider_message_id FROM _res "
                "WHERE provider_message_id IS NOT NULL")
    refresh_statuses(con, "_sent_ids")  # reports that arrived before we knew the id
    con.execute("COMMIT")
    con.unregister("_res")


def _submit_frames(con: duckdb.DuckDBPyConnection, spec: CampaignSpec, provider: Any, due: pd.DataFrame,
                   now: datetime, batch_size: int) -> dict[str, int]:
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
        batch = frame.iloc[start:start + batch_size]
        answers = provider.submit_frame(batch, wait=False) if background else provider.submit_frame(batch)
        pending.append(answers)
        counts["submitted"] += int(answers["accepted"].sum())
        counts["failed"] += int((~answers["accepted"]).sum())
        if sum(len(p) for p in pending) >= RECORD_EVERY:
            if background:
                provider.flush()
            _record_frame(con, pd.concat(pending, ignore_index=True), now)
            pending = []
        bar.update(len(answers))
    if background:
        provider.flush()
    if pending:
        _record_frame(con, pd.concat(pending, ignore_index=True), now)
    bar.close()
    return counts


def _submit(con: duckdb.DuckDBPyConnection, spec: CampaignSpec, provider: Provider, due: pd.DataFrame,
            now: datetime, batch_size: int, pacer: Pacer, max_retries: int) -> dict[str, int]:
    """Submit `due` in batches of one sender each; returns submitted/failed/unknown/retry_later/retries."""
    if provider.idempotent and hasattr(provider, "submit_frame") and not any(pacer.rates.values()):
        return _submit_frames(con, spec, provider, due, now, batch_size)
    counts = {"submitted": 0, "failed": 0, "unknown": 0, "retry_later": 0, "retries": 0}
    due = due.sort_values(["sender_id", "_row"], kind="stable")  # per sender, in table order
    bar = tqdm(total=len(due), desc=f"sending {spec.campaign_id}", unit="msg", disable=len(due) < 5000)
    senders = due["sender_id"].to_numpy()
    starts = [0] + [i for i in range(1, len(due)) if senders[i] != senders[i - 1]] if len(due) else []
    bounds = list(zip(starts, starts[1:] + [len(due)], strict=False))
    for lo, hi in bounds:
        sender = senders[lo]
        for start in range(lo, hi, batch_size):
            chunk = due.iloc[start:min(start + batch_size, hi)]
            con.register("_attempt", chunk[["message_id"]])
            con.execute("UPDATE messages SET submit_attempted_at = ? FROM _attempt "
                        "WHERE messages.message_id = _attempt.message_id", [now])
            con.unregister("_attempt")
            try:
                results, stats = _submit_with_retries(provider, _messages(spec, chunk, now), pacer, sender,
                                                      max_retries)
            except AuthenticationError as exc:  # unsent messages go back to the queue, and the run stops
                if exc.results:
                    _record_results(con, exc.results, now)
                else:
                    con.register("_attempt", chunk[["message_id"]])
                    con.execute("UPDATE messages SET submit_attempted_at = NULL FROM _attempt "
                                "WHERE messages.message_id = _attempt.message_id")
                    con.unregister("_attempt")
                raise
            _record_results(con, results, now)
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


def send(spec: str | os.PathLike[str] | CampaignSpec, *, provider: str | Provider | None = None,
         dry_run: bool = False, db: str | os.PathLike[str] | None = None,
         con: duckdb.DuckDBPyConnection | None = None, now: datetime | None = None,
         batch_size: int | None = None, provider_options: dict[str, Any] | None = None,
         throughput: float | dict[str, float] | None = None, max_retries: int = MAX_RETRIES) -> dict[str, Any]:
    """Check the campaign and submit what is allowed. `now` (UTC) replays a later run (demo, tests).

    `batch_size` defaults to the provider's; `throughput` (messages/s, one number or per
    sender id) overrides the price sheet's figure for throttling.
    """
    spec = load_spec(spec)
    replayed = now is not None
    now = now or store.utcnow()
    problem = spec.send_at_problem(now)
    if problem and not _started(spec, db, con):  # a first run: refused before anything is written
        raise SpecError(f"{spec.source}: {problem}")
    own = con is None
    con = con or store.connect(db)
    instance: Provider | None = None
    try:
        send_at = spec.send_at_utc
        at = send_at if send_at is not None and send_at > now else now
        result = check(spec, at=at.replace(tzinfo=UTC), con=con, now=now, continuing=bool(problem))
        decisions = result.decisions
        summary: dict[str, Any] = {
            "campaign_id": spec.campaign_id, "submitted": 0,
            "deferred": int((decisions["decision"] == "deferred").sum()),
            "suppressed": int((decisions["decision"] == "blocked").sum()), "failed": 0, "dry_run": dry_run,
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
        outbox = _outbox(spec, decisions, send_at if send_at is not None and send_at > now else None)
        allowed = outbox.loc[outbox["decision"] == "allowed", ["message_id"]] if len(outbox) else None
        if dry_run:
            known = con.execute("SELECT message_id FROM messages WHERE campaign_id = ? AND status <> 'queued'",
                                [spec.campaign_id]).df()
            summary["would_submit"] = (0 if allowed is None
                                       else int((~allowed["message_id"].isin(known["message_id"])).sum()))
            return summary
        _record_campaign(con, spec, result.audience, now)
        if len(outbox):
            _write_outbox(con, spec, outbox, instance, name)
        con.register("_allowed",
                     allowed if allowed is not None else pd.DataFrame({"message_id": pd.Series([], dtype=str)}))
        # in table order: DuckDB updates rows in storage order ~100x faster than scattered ones
        due = con.execute("""SELECT message_id, msisdn, region, sender_type, sender_id, text, encoding, segments,
                                    scheduled_at, submit_attempted_at, rowid AS _row
                             FROM messages SEMI JOIN _allowed USING (message_id)
                             WHERE campaign_id = ? AND status = 'queued' ORDER BY rowid""",
                          [spec.campaign_id]).df()
        con.unregister("_allowed")
        interrupted = due[due["submit_attempted_at"].notna()]
        if len(interrupted) and not instance.idempotent:
            con.execute("""UPDATE messages SET status = 'unknown', status_at = ?,
                               error_code = 'interrupted submission: not resent, check the provider'
                           WHERE message_id IN (SELECT unnest(?))""", [now, interrupted["message_id"].tolist()])
            due = due[due["submit_attempted_at"].isna()]
            summary["interrupted"] = len(interrupted)
        pacer = Pacer(_sender_rates(due, instance, throughput))
        counts = _submit(con, spec, instance, due, now, batch_size or instance.batch_size or BATCH_SIZE, pacer,
                         max_retries)
        summary.update(counts)
        summary["deferred"] = int(store.scalar(
            con, "SELECT count(*) FROM messages WHERE campaign_id = ? AND status = 'queued'", [spec.campaign_id])
        ) - counts["retry_later"]
        summary["next_run_at"] = store.scalar(
            con, "SELECT min(scheduled_at) FROM messages WHERE campaign_id = ? AND status = 'queued'",
            [spec.campaign_id])
        return summary
    finally:
        if instance is not None and not isinstance(provider, Provider):
            instance.close()
        if own:
            con.close()
