"""Replies and consent: inbound messages joined, linked to their campaign, classified, and
opt-outs / opt-ins written to the consent ledger.

`write_replies` takes the parsers' reply rows of one batch (inside its transaction): parts of
long messages wait in `inbound_parts` until all have come, each new reply is linked to the
campaign that last messaged that person from the number it was sent to, its intent is
classified (`receiving.keywords`), and an opt-out or opt-in (or free text that may be an
opt-out, marked for review) becomes a `consent` row.

Example:
    >>> from datetime import datetime
    >>> from smslab import store
    >>> con = store.connect(":memory:")
    >>> write_replies(con, [{"provider": "infobip", "provider_message_id": "mo1", "msisdn": "+33612345678",
    ...                      "recipient": "36180", "text": "STOP", "received_at": datetime(2026, 12, 1),
    ...                      "raw": "{}", "source": "f.jsonl"}])
    (1, 0)
    >>> con.execute("SELECT intent FROM inbound").fetchall(), con.execute("SELECT action FROM consent").fetchall()
    ([('opt_out',)], [('opt_out',)])
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import numpy as np
import pandas as pd

from smslab import identity, store
from smslab.campaign import stored_senders
from smslab.receiving.keywords import classify, review

INBOUND_COLUMNS = [
    "provider",
    "provider_message_id",
    "msisdn",
    "recipient",
    "text",
    "keyword",
    "intent",
    "campaign_id",
    "received_at",
    "raw",
    "review",
    "provider_keyword",
    "clean_text",
    "media_urls",
]


def _campaign_links(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """(campaign_id, reply_to, scope, keywords): which sender a reply to a number belongs to.

    A reply to a two-way sender belongs to that sender; a reply to an alphanumeric sender's
    opt-out short code (Kenya) belongs to the alphanumeric sender.
    """
    rows = []
    for campaign_id, data, cc, sender in stored_senders(con):
        keywords = json.dumps(data.get("keywords") or [])
        region = data.get("default_region") if cc == "*" else cc
        scope = identity.key(sender["id"], region, sender.get("type"))
        reply_to = [scope]
        if sender.get("opt_out_short_code"):
            reply_to.append(identity.key(sender["opt_out_short_code"], region, "short_code"))
        for number in reply_to:
            # a short code is the country's: only its own subscribers' replies belong to it
            prefix = identity.calling_prefix(region) if identity.is_short_code(number) else None
            rows.append((campaign_id, number, prefix, scope, keywords))
    return pd.DataFrame(rows, columns=["campaign_id", "reply_to", "prefix", "scope", "keywords"])


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame:
            frame[column] = None
    return frame[columns]


def _join_parts(con: duckdb.DuckDBPyConnection, parts: list[dict]) -> tuple[list[dict], int, int]:
    """Keep parts of long inbound messages; return the messages whose parts are now all here,
    and how many parts were new and already kept."""
    columns = [
        "provider",
        "provider_message_id",
        "msisdn",
        "recipient",
        "concat_ref",
        "concat_part",
        "concat_total",
        "text",
        "received_at",
        "raw",
    ]
    frame = _frame(parts, columns)
    before = store.scalar(con, "SELECT count(*) FROM inbound_parts")
    con.register("_parts", frame)
    con.execute(f"INSERT OR IGNORE INTO inbound_parts ({', '.join(columns)}) SELECT * FROM _parts")
    con.unregister("_parts")
    added = store.scalar(con, "SELECT count(*) FROM inbound_parts") - before
    rows = con.execute("""
        WITH groups AS (
            SELECT provider, msisdn, recipient, concat_ref, max(concat_total) AS total,
                   count(DISTINCT concat_part) AS have, min(provider_message_id) AS first_id
            FROM inbound_parts GROUP BY ALL),
        ready AS (
            SELECT g.* FROM groups g WHERE have >= total
              AND NOT EXISTS (SELECT 1 FROM inbound i WHERE i.provider = g.provider
                              AND i.provider_message_id = 'concat:' || g.concat_ref || ':' || g.first_id))
        SELECT r.provider, 'concat:' || r.concat_ref || ':' || r.first_id, r.msisdn, r.recipient,
               string_agg(p.text, '' ORDER BY p.concat_part), max(p.received_at),
               to_json(list(p.raw::JSON ORDER BY p.concat_part))::VARCHAR
        FROM ready r JOIN (SELECT DISTINCT ON (provider, msisdn, recipient, concat_ref, concat_part) *
                           FROM inbound_parts ORDER BY provider, msisdn, recipient, concat_ref, concat_part,
                                                       provider_message_id) p
             USING (provider, msisdn, recipient, concat_ref)
        GROUP BY ALL
    """).fetchall()
    return (
        [
            {
                "provider": r[0],
                "provider_message_id": r[1],
                "msisdn": r[2],
                "recipient": r[3],
                "text": r[4],
                "received_at": r[5],
                "raw": r[6],
                "assembled": True,
            }
            for r in rows
        ],
        added,
        len(frame) - added,
    )


def _regions(msisdns: pd.Series) -> list[str | None]:
    """The region of each number (None for a missing or unparseable one), vectorised."""
    from smslab.numbers import normalize

    unique = pd.unique(msisdns[msisdns.map(lambda m: isinstance(m, str))])
    found = dict(zip(unique, normalize(pd.Series(unique, dtype=object))["region"], strict=False)) if len(unique) else {}
    return [found.get(m) if isinstance(m, str) else None for m in msisdns]


def write_replies(con: duckdb.DuckDBPyConnection, replies: list[dict]) -> tuple[int, int]:
    """Store one batch's replies (call inside a transaction); returns (loaded, duplicates)."""
    parts = [r for r in replies if r.get("concat_ref")]
    whole = [r for r in replies if not r.get("concat_ref")]
    assembled, loaded, duplicates = _join_parts(con, parts) if parts else ([], 0, 0)
    columns = [
        "provider",
        "provider_message_id",
        "msisdn",
        "recipient",
        "text",
        "received_at",
        "raw",
        "provider_keyword",
        "clean_text",
        "media_urls",
    ]
    frame = _frame(whole + assembled, columns).drop_duplicates(["provider", "provider_message_id"])
    for column in ("provider_keyword", "clean_text", "media_urls"):
        frame[column] = frame[column].astype(object)
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    con.register("_replies", frame)
    fresh = con.execute("""SELECT * FROM _replies r WHERE NOT EXISTS (
                               SELECT 1 FROM inbound i WHERE i.provider = r.provider
                               AND i.provider_message_id = r.provider_message_id)""").df()
    con.unregister("_replies")
    fresh_whole = int((~fresh["provider_message_id"].str.startswith("concat:")).sum()) if len(fresh) else 0
    duplicates += len(whole) - fresh_whole
    if fresh.empty:
        return loaded, duplicates
    links = _campaign_links(con)
    # every provider's spelling of our number ("447700900123", "+447700900123") is one identity
    spelled = pd.unique(fresh["recipient"].astype(object))
    canonical = {r: identity.key(r) if isinstance(r, str) else r for r in spelled}
    fresh["recipient"] = fresh["recipient"].map(canonical)
    con.register("_fresh", fresh)
    con.register("_links", links)
    # a number (short code) used by several campaigns: the campaign that last messaged this person wins
    linked = con.execute("""
        SELECT f.*, l.campaign_id, l.scope, l.keywords, m.region AS known_region FROM _fresh f
        LEFT JOIN _links l ON l.reply_to = f.recipient AND (l.prefix IS NULL OR starts_with(f.msisdn, l.prefix))
        LEFT JOIN (SELECT campaign_id, msisdn, max(coalesce(submitted_at, scheduled_at)) AS last_sent,
                          any_value(region) AS region
                   FROM messages GROUP BY campaign_id, msisdn) m
               ON m.campaign_id = l.campaign_id AND m.msisdn = f.msisdn
        QUALIFY row_number() OVER (PARTITION BY f.provider, f.provider_message_id
                                   ORDER BY m.last_sent DESC NULLS LAST, l.campaign_id) = 1
    """).df()
    con.unregister("_fresh")
    con.unregister("_links")
    # the region of a number we messaged is known; the others are worked out (vectorised)
    known = linked["known_region"].astype(object)
    unknown = known.isna().to_numpy()
    regions = known.where(~unknown, None).to_numpy(dtype=object, copy=True)
    if unknown.any():
        regions[unknown] = _regions(linked["msisdn"][unknown])
    keywords, intents, reviews = [], [], []
    decided: dict[tuple, tuple] = {}  # replies repeat (STOP, ARRET, the campaign's keywords…): classify each once
    for text, kws, region in zip(linked["text"], linked["keywords"], regions, strict=False):
        key = (text, kws if isinstance(kws, str) else None, region)
        if key not in decided:
            keyword, intent = classify(
                text, campaign_keywords=json.loads(kws) if isinstance(kws, str) else [], region=region
            )
            decided[key] = (keyword, intent, review(text, intent))
        keyword, intent, why = decided[key]
        keywords.append(keyword)
        intents.append(intent)
        reviews.append(why)
    linked["keyword"], linked["intent"], linked["review"] = keywords, intents, reviews
    rows = linked[INBOUND_COLUMNS]
    con.register("_inbound", rows)
    con.execute(f"INSERT INTO inbound ({', '.join(INBOUND_COLUMNS)}) SELECT * FROM _inbound")
    con.unregister("_inbound")
    loaded += fresh_whole
    # opt-outs and opt-ins; free text that may be an opt-out is honoured too (fail closed) and
    # marked reply-review so a person can confirm it or record an opt-in
    action = linked["intent"].where(linked["intent"].isin(["opt_out", "opt_in"]))
    none = np.array(None, dtype=object)  # np.where(…, None) as numpy's type stubs accept it
    action = action.where(action.notna(), np.where(linked["review"] == "possible_opt_out", "opt_out", none))
    changes = linked.assign(action=action)[action.notna()]
    if len(changes):
        source = pd.Series(np.where(changes["intent"] == "other", "reply-review:", "reply:"), index=changes.index)
        consent = pd.DataFrame(
            {
                "consent_id": [
                    hashlib.sha1(f"{p}|{m}".encode()).hexdigest()
                    for p, m in zip(changes["provider"], changes["provider_message_id"], strict=False)
                ],
                "msisdn": changes["msisdn"],
                "scope": changes["scope"].fillna(changes["recipient"]),
                "action": changes["action"],
                "source": source + changes["provider"],
                "evidence": [
                    json.dumps({"text": t, "to": r, "provider_message_id": m}, ensure_ascii=False)
                    for t, r, m in zip(
                        changes["text"], changes["recipient"], changes["provider_message_id"], strict=False
                    )
                ],
                "recorded_at": changes["received_at"],
            }
        )
        con.register("_consent", consent)
        con.execute(
            "INSERT INTO consent SELECT * FROM _consent WHERE consent_id NOT IN (SELECT consent_id FROM consent)"
        )
        con.unregister("_consent")
    return loaded, duplicates
