"""The outbox: every allowed or deferred message written to `messages` before anything is submitted.

Each message is keyed by campaign + recipient + variant (`message_id`), so a re-run finds the
row it wrote before instead of creating another.

Example:
    >>> message_id("black-friday-2026", "+33612345678", "A")
    '5fc6bbf12c23fdaac33606b0'
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from smslab.campaign import CampaignSpec
from smslab.providers import Provider
from smslab.segments import count


def message_id(campaign_id: str, msisdn: str, variant: str) -> str:
    """The idempotency key of a message: the same campaign, recipient and variant → the same id."""
    return hashlib.sha1(f"{campaign_id}|{msisdn}|{variant}".encode()).hexdigest()[:24]


def record_campaign(con: duckdb.DuckDBPyConnection, spec: CampaignSpec, audience: pd.DataFrame, now: datetime) -> None:
    con.execute(
        "INSERT INTO campaigns SELECT ?, ?, ?, ?, ?, ? WHERE ? NOT IN (SELECT campaign_id FROM campaigns)",
        [
            spec.campaign_id,
            spec.name,
            spec.purpose,
            spec.two_way,
            json.dumps(spec.to_json_dict()),
            now,
            spec.campaign_id,
        ],
    )
    con.execute(
        "UPDATE campaigns SET spec = ?, purpose = ?, two_way = ? WHERE campaign_id = ?",
        [json.dumps(spec.to_json_dict()), spec.purpose, spec.two_way, spec.campaign_id],
    )
    frame = pd.DataFrame(
        {
            "campaign_id": spec.campaign_id,
            "msisdn": audience["msisdn"],
            "region": audience["region"],
            "valid": audience["valid"],
            "number_type": audience["number_type"],
            "time_zone": audience["time_zone"],
            "consent_at": pd.to_datetime(audience["consent_at"]),
            "consent_source": audience["consent_source"],
            "attributes": audience["attributes"],
        }
    )
    con.register("_aud", frame)
    con.execute(
        """INSERT INTO audience SELECT * FROM _aud
                   ANTI JOIN (SELECT msisdn FROM audience WHERE campaign_id = ?) USING (msisdn)""",
        [spec.campaign_id],
    )
    con.unregister("_aud")


def build_outbox(spec: CampaignSpec, decisions: pd.DataFrame, scheduled_default: datetime | None) -> pd.DataFrame:
    """One row per allowed or deferred recipient, with variant, text, encoding and segments (vectorised)."""
    rows = decisions.loc[
        decisions["decision"].isin(["allowed", "deferred"]), ["msisdn", "region", "decision", "next_allowed_at"]
    ].copy()
    if rows.empty:
        return rows
    hashing = duckdb.connect()  # sha1 of a million short strings: vectorised and on both cores
    msisdns = pa.array(rows["msisdn"].astype(str).to_numpy(dtype=object), pa.string())
    hashing.register("_m", pa.table({"m": msisdns}))
    prefix = f"{spec.campaign_id}|"
    names = spec.variant_names()
    if len(names) > 1:  # == spec.variant_for(m): the first 4 bytes of sha1(campaign|msisdn), modulo
        picks = hashing.execute(
            "SELECT (('0x' || sha1(? || m)[1:8])::UBIGINT % ?)::INTEGER AS k FROM _m", [prefix, len(names)]
        ).fetchnumpy()["k"]
        rows["variant"] = np.asarray(names, dtype=object)[np.asarray(picks, dtype=np.int64)]
    else:
        rows["variant"] = "A"
    rows["region"] = rows["region"].astype(object).where(rows["region"].notna(), None)
    texts = []
    for region, variant in rows[["region", "variant"]].drop_duplicates().itertuples(index=False):
        text = spec.text_for(region, variant)
        counted = count(text)
        sender = spec.sender_for(region)
        texts.append(
            (
                region,
                variant,
                text,
                counted.encoding,
                int(counted.segments),
                sender.type if sender else None,
                sender.id if sender else None,
            )
        )
    table = pd.DataFrame(
        texts, columns=["region", "variant", "text", "encoding", "segments", "sender_type", "sender_id"]
    )
    key = rows["region"].fillna("\0") + "|" + rows["variant"]
    table.index = table["region"].fillna("\0") + "|" + table["variant"]
    for column in ("text", "encoding", "segments", "sender_type", "sender_id"):
        rows[column] = key.map(table[column]).to_numpy()
    hashing.register(
        "_mv", pa.table({"m": msisdns, "v": pa.array(rows["variant"].astype(str).to_numpy(dtype=object), pa.string())})
    )
    # == message_id(campaign, msisdn, variant)
    rows["message_id"] = (
        hashing.execute("SELECT sha1(? || m || '|' || v)[1:24] AS id FROM _mv", [prefix])
        .fetchnumpy()["id"]
        .astype(object)
    )
    hashing.close()
    default = pd.NaT if scheduled_default is None else pd.Timestamp(scheduled_default)
    rows["scheduled_at"] = pd.to_datetime(rows["next_allowed_at"]).where(rows["decision"] == "deferred", default)
    return rows


def write_outbox(
    con: duckdb.DuckDBPyConnection, spec: CampaignSpec, rows: pd.DataFrame, provider: Provider, name: str
) -> None:
    ids = provider.preassigned_ids(rows["message_id"])
    ids = None if ids is None else ids.to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "message_id": rows["message_id"],
            "campaign_id": spec.campaign_id,
            "variant": rows["variant"],
            "msisdn": rows["msisdn"],
            "region": rows["region"],
            "sender_type": rows["sender_type"],
            "sender_id": rows["sender_id"],
            "provider": name,
            "text": rows["text"],
            "encoding": rows["encoding"],
            "segments": rows["segments"].astype("int64"),
            "scheduled_at": rows["scheduled_at"],
            "provider_message_id": ids,
        }
    )
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
