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
   the messages `unknown` instead of risking a second send.

Example:
    >>> from smslab.sending import send
    >>> send("data/samples/campaign.yaml", dry_run=True, db=":memory:")   # doctest: +SKIP
    {'campaign_id': 'black-friday-2026', 'submitted': 0, 'would_submit': 251, ...}
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from typing import Any

import duckdb
import pandas as pd
from tqdm.auto import tqdm

from smslab import store
from smslab.campaign import CampaignSpec, load_spec
from smslab.compliance import check
from smslab.providers import OutboundMessage, Provider, get_provider
from smslab.receiving.loader import refresh_statuses
from smslab.segments import count

BATCH_SIZE = 1000


def message_id(campaign_id: str, msisdn: str, variant: str) -> str:
    """The idempotency key of a message: the same campaign, recipient and variant → the same id."""
    return hashlib.sha1(f"{campaign_id}|{msisdn}|{variant}".encode()).hexdigest()[:24]


def _record_campaign(con: duckdb.DuckDBPyConnection, spec: CampaignSpec, audience: pd.DataFrame, now: datetime) -> None:
    con.execute(
        "INSERT INTO campaigns SELECT ?, ?, ?, ?, ?, ? WHERE ? NOT IN (SELECT campaign_id FROM campaigns)",
        [spec.campaign_id, spec.name, spec.purpose, spec.two_way, json.dumps(spec.to_json_dict()), now, spec.campaign_id],
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
                   WHERE msisdn NOT IN (SELECT msisdn FROM audience WHERE campaign_id = ?)""", [spec.campaign_id])
    con.unregister("_aud")


def _outbox(spec: CampaignSpec, decisions: pd.DataFrame, scheduled_default: datetime | None) -> pd.DataFrame:
    """One row per allowed or deferred recipient, with variant, text, encoding and segments."""
    rows = decisions[decisions["decision"].isin(["allowed", "deferred"])].copy()
    if rows.empty:
        return rows
    rows["variant"] = [spec.variant_for(m) for m in rows["msisdn"]]
    texts: dict[tuple, tuple] = {}
    out = []
    for region, variant in zip(rows["region"], rows["variant"]):
        key = (region, variant)
        if key not in texts:
            text = spec.text_for(region, variant)
            counted = count(text)
            sender = spec.sender_for(region)
            texts[key] = (text, counted.encoding, counted.segments,
                          sender.type if sender else None, sender.id if sender else None)
        out.append(texts[key])
    rows[["text", "encoding", "segments", "sender_type", "sender_id"]] = pd.DataFrame(out, index=rows.index)
    rows["message_id"] = [message_id(spec.campaign_id, m, v) for m, v in zip(rows["msisdn"], rows["variant"])]
    rows["scheduled_at"] = [
        (n if d == "deferred" else scheduled_default)
        for d, n in zip(rows["decision"], rows["next_allowed_at"])
    ]
    rows["scheduled_at"] = pd.to_datetime(rows["scheduled_at"])
    return rows


def _write_outbox(con: duckdb.DuckDBPyConnection, spec: CampaignSpec, rows: pd.DataFrame, provider: str) -> None:
    frame = pd.DataFrame({
        "message_id": rows["message_id"], "campaign_id": spec.campaign_id, "variant": rows["variant"],
        "msisdn": rows["msisdn"], "region": rows["region"], "sender_type": rows["sender_type"],
        "sender_id": rows["sender_id"], "provider": provider, "text": rows["text"],
        "encoding": rows["encoding"], "segments": rows["segments"].astype("int64"),
        "scheduled_at": rows["scheduled_at"],
    })
    con.register("_out", frame)
    con.execute("BEGIN TRANSACTION")
    con.execute("""
        INSERT INTO messages (message_id, campaign_id, variant, msisdn, region, sender_type, sender_id, provider,
                              text, encoding, segments, scheduled_at, status, status_at)
        SELECT message_id, campaign_id, variant, msisdn, region, sender_type, sender_id, provider,
               text, encoding, segments, scheduled_at, 'queued', current_timestamp::TIMESTAMP
        FROM _out WHERE message_id NOT IN (SELECT message_id FROM messages)""")
    # a queued message follows the latest decision about when it may go
    con.execute("""UPDATE messages SET scheduled_at = _out.scheduled_at FROM _out
                   WHERE messages.message_id = _out.message_id AND messages.status = 'queued'""")
    con.execute("COMMIT")
    con.unregister("_out")


def _submit(con: duckdb.DuckDBPyConnection, spec: CampaignSpec, provider: Provider, due: pd.DataFrame,
            now: datetime, batch_size: int) -> tuple[int, int]:
    submitted = failed = 0
    sender_two_way = {}
    bar = tqdm(total=len(due), desc=f"sending {spec.campaign_id}", unit="msg", disable=len(due) < 5000)
    for start in range(0, len(due), batch_size):
        chunk = due.iloc[start:start + batch_size]
        ids = chunk["message_id"].tolist()
        con.execute("UPDATE messages SET submit_attempted_at = ? WHERE message_id IN (SELECT unnest(?))", [now, ids])
        batch = []
        for row in chunk.itertuples(index=False):
            if row.region not in sender_two_way:
                sender = spec.sender_for(row.region)
                sender_two_way[row.region] = (spec.two_way_for(row.region), sender.opt_out_short_code if sender else None)
            two_way, opt_out_code = sender_two_way[row.region]
            scheduled = row.scheduled_at if pd.notna(row.scheduled_at) and row.scheduled_at > now else now
            batch.append(OutboundMessage(
                message_id=row.message_id, campaign_id=spec.campaign_id, msisdn=row.msisdn, region=row.region,
                sender_type=row.sender_type, sender_id=row.sender_id, text=row.text, encoding=row.encoding,
                segments=int(row.segments), scheduled_at=pd.Timestamp(scheduled).to_pydatetime(),
                two_way=two_way, opt_out_short_code=opt_out_code))
        results = provider.submit(batch)
        frame = pd.DataFrame([{
            "message_id": r.message_id, "provider_message_id": r.provider_message_id,
            "status": r.status if r.accepted else (r.status if r.status != "submitted" else "failed"),
            "error_code": r.error_code, "price": r.price, "currency": r.currency,
        } for r in results])
        con.register("_res", frame)
        con.execute("BEGIN TRANSACTION")
        con.execute("""UPDATE messages SET provider_message_id = _res.provider_message_id, status = _res.status,
                           status_at = ?, submitted_at = ?, error_code = _res.error_code, price = _res.price,
                           currency = _res.currency
                       FROM _res WHERE messages.message_id = _res.message_id""", [now, now])
        con.execute("CREATE OR REPLACE TEMP TABLE _sent_ids AS SELECT provider_message_id FROM _res "
                    "WHERE provider_message_id IS NOT NULL")
        refresh_statuses(con, "_sent_ids")  # reports that arrived before we knew the id
        con.execute("COMMIT")
        con.unregister("_res")
        accepted = sum(r.accepted for r in results)
        submitted += accepted
        failed += len(results) - accepted
        bar.update(len(chunk))
    bar.close()
    return submitted, failed


def send(spec: str | os.PathLike[str] | CampaignSpec, *, provider: str | Provider | None = None,
         dry_run: bool = False, db: str | os.PathLike[str] | None = None,
         con: duckdb.DuckDBPyConnection | None = None, now: datetime | None = None,
         batch_size: int = BATCH_SIZE, provider_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the campaign and submit what is allowed. `now` (UTC) replays a later run (demo, tests)."""
    spec = load_spec(spec)
    own = con is None
    con = con or store.connect(db)
    try:
        now = now or store.utcnow()
        send_at = spec.send_at_utc
        at = send_at if send_at is not None and send_at > now else now
        result = check(spec, at=at.replace(tzinfo=timezone.utc), con=con)
        decisions = result.decisions
        summary: dict[str, Any] = {
            "campaign_id": spec.campaign_id, "submitted": 0, "deferred": int((decisions["decision"] == "deferred").sum()),
            "suppressed": int((decisions["decision"] == "blocked").sum()), "failed": 0, "dry_run": dry_run,
            "evaluated_at": at.isoformat(),
        }
        if result.blocking:
            summary["blocking"] = [f for f in result.findings if f["severity"] == "block"]
            return summary
        name = provider.name if isinstance(provider, Provider) else (provider or spec.provider or "simulator")
        outbox = _outbox(spec, decisions, send_at if send_at is not None and send_at > now else None)
        allowed_ids = set(outbox.loc[outbox["decision"] == "allowed", "message_id"]) if len(outbox) else set()
        if dry_run:
            known = set(r[0] for r in con.execute(
                "SELECT message_id FROM messages WHERE campaign_id = ? AND status <> 'queued'", [spec.campaign_id]).fetchall())
            summary["would_submit"] = len(allowed_ids - known)
            return summary
        _record_campaign(con, spec, result.audience, now)
        if len(outbox):
            _write_outbox(con, spec, outbox, name)
        queued = con.execute("""SELECT message_id, msisdn, region, sender_type, sender_id, text, encoding, segments,
                                       scheduled_at, submit_attempted_at
                                FROM messages WHERE campaign_id = ? AND status = 'queued' ORDER BY message_id""",
                             [spec.campaign_id]).df()
        due = queued[queued["message_id"].isin(allowed_ids)]
        if isinstance(provider, Provider):
            instance = provider
        else:
            options = {"keywords": spec.keywords} if name == "simulator" else {}
            instance = get_provider(name, **{**options, **(provider_options or {})})
        interrupted = due[due["submit_attempted_at"].notna()]
        if len(interrupted) and not instance.idempotent:
            con.execute("""UPDATE messages SET status = 'unknown', status_at = ?,
                               error_code = 'interrupted submission: not resent, check the provider'
                           WHERE message_id IN (SELECT unnest(?))""", [now, interrupted["message_id"].tolist()])
            due = due[due["submit_attempted_at"].isna()]
            summary["interrupted"] = len(interrupted)
        try:
            summary["submitted"], summary["failed"] = _submit(con, spec, instance, due, now, batch_size)
        finally:
            instance.close()
        summary["deferred"] = int(store.scalar(
            con, "SELECT count(*) FROM messages WHERE campaign_id = ? AND status = 'queued'", [spec.campaign_id]))
        summary["next_run_at"] = store.scalar(
            con, "SELECT min(scheduled_at) FROM messages WHERE campaign_id = ? AND status = 'queued'", [spec.campaign_id])
        return summary
    finally:
        if own:
            con.close()
