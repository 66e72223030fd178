"""Replies and opt-outs: intents, keywords, opt-out rates, linkage, and replies a person should read.

Example:
    >>> from smslab import store
    >>> reply_intents(store.connect(":memory:"), "none").empty
    True
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from smslab.analytics.base import _columns
from smslab.analytics.funnels import funnel_by
from smslab.masking import mask_frame, mask_text


def reply_intents(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Replies by intent and keyword."""
    return con.execute(
        """SELECT intent, coalesce(keyword, '(free text)') AS keyword, count(*) AS replies
                          FROM inbound WHERE campaign_id = ? GROUP BY ALL ORDER BY replies DESC, intent, keyword""",
        [campaign_id],
    ).df()


def optout_keywords(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Opt-out replies by keyword and country, with the share of all opt-outs."""
    frame = con.execute(
        """
        SELECT i.keyword, coalesce(m.region, 'unknown') AS region, count(*) AS opt_outs
        FROM inbound i LEFT JOIN (SELECT DISTINCT msisdn, region FROM messages WHERE campaign_id = $c) m USING (msisdn)
        WHERE i.campaign_id = $c AND i.intent = 'opt_out' GROUP BY ALL ORDER BY opt_outs DESC, 1, 2""",
        {"c": campaign_id},
    ).df()
    frame["share"] = frame["opt_outs"] / max(int(frame["opt_outs"].sum()), 1)
    return frame


def optout_by(
    con: duckdb.DuckDBPyConnection, campaign_id: str, dimension: str = "region", *, confidence: float = 0.95
) -> pd.DataFrame:
    """Opt-out rate (opted out / delivered, Wilson interval) by a dimension such as region or sender_id."""
    frame = funnel_by(con, campaign_id, dimension, confidence=confidence)
    keep = [dimension, "delivered", "replied", "opted_out", "opt_out_rate", "opt_out_rate_low", "opt_out_rate_high"]
    return frame.loc[frame["delivered"] > 0, keep].sort_values("opt_out_rate", ascending=False).reset_index(drop=True)


def optouts_over_time(con: duckdb.DuckDBPyConnection, campaign_id: str, freq: str = "hour") -> pd.DataFrame:
    """Replies and opt-outs per hour (or day, minute) since the campaign went out, with the
    cumulative opt-out rate over everything delivered."""
    if freq not in ("minute", "hour", "day"):
        raise ValueError("freq is minute, hour or day")
    delivered = int(
        con.execute(
            "SELECT count(*) FROM messages WHERE campaign_id = ? AND status = 'delivered'", [campaign_id]
        ).fetchall()[0][0]
    )
    frame = con.execute(
        f"""
        SELECT date_trunc('{freq}', received_at) AS period, count(*) AS replies,
               count(*) FILTER (WHERE intent = 'opt_out') AS opt_outs
        FROM inbound WHERE campaign_id = ? GROUP BY 1 ORDER BY 1""",
        [campaign_id],
    ).df()
    frame["cumulative_opt_outs"] = frame["opt_outs"].cumsum()
    frame["cumulative_opt_out_rate"] = frame["cumulative_opt_outs"] / delivered if delivered else np.nan
    return frame


def optout_linkage(con: duckdb.DuckDBPyConnection, campaign_id: str) -> pd.DataFrame:
    """Opt-outs received on a number other than the sender (an alphanumeric sender's opt-out short
    code, as in Kenya), how they were scoped in the consent ledger, and whether that scope is the
    sender the message came from (linked)."""
    return con.execute(
        """
        WITH o AS (SELECT i.provider, i.provider_message_id, i.msisdn, i.recipient FROM inbound i
                   WHERE i.campaign_id = $c AND i.intent = 'opt_out'),
        m AS (SELECT DISTINCT msisdn, region, sender_type, sender_id FROM messages WHERE campaign_id = $c),
        l AS (SELECT json_extract_string(evidence, '$.provider_message_id') AS provider_message_id, scope
              FROM consent WHERE action = 'opt_out')
        SELECT m.region, m.sender_type, m.sender_id, o.recipient AS received_on, l.scope AS consent_scope,
               coalesce(l.scope = upper(m.sender_id), false) AS linked, count(*) AS opt_outs
        FROM o JOIN m USING (msisdn) LEFT JOIN l USING (provider_message_id)
        WHERE o.recipient IS DISTINCT FROM m.sender_id
        GROUP BY ALL ORDER BY opt_outs DESC, 1""",
        {"c": campaign_id},
    ).df()


def replies_for_review(con: duckdb.DuckDBPyConnection, campaign_id: str, *, limit: int = 50) -> pd.DataFrame:
    """Replies a person should read: free text that may be an opt-out ("please stop texting me"),
    help requests, and other free text; newest first, numbers masked in the sender and the text."""
    from smslab.receiving.keywords import possible_opt_out

    review = "i.review" if "review" in _columns(con, "inbound") else "NULL"  # the loader's flag (migration 2)
    frame = con.execute(
        f"""
        SELECT i.received_at, coalesce(m.region, 'unknown') AS region, i.msisdn, i.recipient AS received_on,
               i.intent, i.text, {review} AS review
        FROM inbound i LEFT JOIN (SELECT DISTINCT msisdn, region FROM messages WHERE campaign_id = $c) m USING (msisdn)
        WHERE i.campaign_id = $c AND (i.intent IN ('other', 'help') OR {review} IS NOT NULL)""",
        {"c": campaign_id},
    ).df()
    if frame.empty:
        return pd.DataFrame(
            columns=["priority", "received_at", "region", "msisdn", "received_on", "intent", "reason", "text"]
        )
    flag = frame["text"].fillna("").map(possible_opt_out) | (frame["review"] == "possible_opt_out")
    frame["reason"] = np.where(
        flag,
        "possible opt-out",
        np.where(
            frame["intent"] == "help",
            "help request",
            np.where(frame["review"].notna(), frame["review"].fillna("").str.replace("_", " "), "free text"),
        ),
    )
    frame["priority"] = frame["reason"].map({"possible opt-out": 1, "help request": 2, "free text": 3})
    frame = frame.sort_values(["priority", "received_at"], ascending=[True, False]).head(limit)
    frame["text"] = frame["text"].map(mask_text)
    frame = mask_frame(frame)
    return frame[
        ["priority", "received_at", "region", "msisdn", "received_on", "intent", "reason", "text"]
    ].reset_index(drop=True)
