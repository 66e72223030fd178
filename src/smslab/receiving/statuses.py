"""The normalised delivery status every provider maps onto, one documented table per provider.

The same tables are printed in docs/data-model.md ("Normalised status"). Each parser keeps
the provider's own status (`raw_status`), its error code and whether the error is permanent;
a status missing from a table is not guessed: the record is quarantined as "unknown status".

Example:
    >>> from smslab.receiving.statuses import infobip_status, twilio_status, vonage_status, smpp_status
    >>> infobip_status(3, 5), infobip_status(3, 2)   # DELIVERED_TO_OPERATOR is intermediate
    ('delivered', 'sent')
    >>> twilio_status("undelivered"), vonage_status("buffered"), smpp_status("DELIVRD")
    ('undelivered', 'sent', 'delivered')
"""

from __future__ import annotations

NORMALISED = ["queued", "submitted", "sent", "delivered", "undelivered", "expired", "rejected", "failed", "unknown"]
FINAL = frozenset({"delivered", "undelivered", "expired", "rejected", "failed"})
# progress order among non-final statuses; a final status always outranks these
RANK = {"queued": 0, "unknown": 1, "submitted": 2, "sent": 3}

# --- Infobip: key on groupId; ids refine it (wire-formats §1a) -------------------------------------
INFOBIP_GROUPS = {1: "sent", 2: "undelivered", 3: "delivered", 4: "expired", 5: "rejected"}
# Infobip status ids whose meaning differs from their group
INFOBIP_IDS = {
    2: "sent",  # DELIVERED_TO_OPERATOR: intermediate, a handset report may follow
    26: "submitted",  # PENDING_ACCEPTED / MESSAGE_ACCEPTED: accepted by Infobip, not yet sent
}
INFOBIP_REFINED_GROUPS = (1, 3)  # the groups (PENDING, DELIVERED) in which those ids refine the status


def infobip_status(group_id: int | None, status_id: int | None) -> str | None:
    """Normalised status for an Infobip (groupId, id); None when the group is unknown."""
    try:
        if status_id in INFOBIP_IDS and group_id in INFOBIP_REFINED_GROUPS:
            return INFOBIP_IDS[status_id]
        return INFOBIP_GROUPS.get(group_id)  # type: ignore[arg-type]
    except TypeError:  # not a number at all (a list, an object)
        return None


def infobip_status_sql(group_id: str, status_id: str) -> str:
    """The same mapping as `infobip_status`, as a SQL expression over two integer columns
    (the loader's fast path for JSON lines), written from the same tables.

    Example:
        >>> import duckdb
        >>> sql = infobip_status_sql("g", "s")
        >>> duckdb.sql(f"SELECT {sql} FROM (VALUES (3, 2), (3, 5), (2, 9)) t(g, s)").fetchall()
        [('sent',), ('delivered',), ('undelivered',)]
    """
    groups = ", ".join(str(g) for g in INFOBIP_REFINED_GROUPS)
    refined = " ".join(
        f"WHEN {status_id} = {sid} AND {group_id} IN ({groups}) THEN '{status}'" for sid, status in INFOBIP_IDS.items()
    )
    by_group = " ".join(f"WHEN {gid} THEN '{status}'" for gid, status in INFOBIP_GROUPS.items())
    return f"CASE {refined} ELSE CASE {group_id} {by_group} END END"


# --- Twilio MessageStatus (wire-formats §1b) -------------------------------------------------------
TWILIO = {
    "queued": "queued",
    "scheduled": "queued",  # Messaging Service, sent later
    "accepted": "submitted",  # Messaging Service accepted it
    "sending": "submitted",  # Twilio is handing it to the carrier
    "sent": "sent",  # the carrier accepted it; often the last status seen
    "delivered": "delivered",
    "read": "delivered",  # WhatsApp/RCS: read implies delivered
    "undelivered": "undelivered",
    "failed": "failed",  # never left Twilio (invalid number, opted out, …)
    "canceled": "failed",  # a scheduled message cancelled before sending: final, not delivered
    "partially_delivered": "sent",  # some parts confirmed, not all: not counted as delivered; stays open
}
# receiving / received describe inbound messages and have no place in a status callback: quarantined.
# Twilio error codes after which a retry to the same number cannot succeed.
TWILIO_PERMANENT = frozenset({"30004", "30005", "30006", "21211", "21610", "21612", "21614", "21635"})


def twilio_status(value: str | None) -> str | None:
    """Normalised status for a Twilio `MessageStatus` (case-insensitive); None when unknown."""
    return TWILIO.get((value or "").strip().lower())


# --- Vonage SMS API DLR `status` and Messages API `status` (wire-formats §1c) ----------------------
VONAGE = {
    "accepted": "submitted",  # accepted for delivery, not delivered yet
    "buffered": "sent",  # held by the carrier for a later attempt
    "delivered": "delivered",
    "expired": "expired",
    "failed": "undelivered",  # "not delivered" (after it was sent)
    "rejected": "rejected",  # the downstream carrier refused it
    "unknown": "unknown",
    # Messages API (status webhooks)
    "submitted": "submitted",
    "undeliverable": "undelivered",
    "read": "delivered",
}
# err-code values whose meaning is permanent for this number (remove it / do not retry)
VONAGE_PERMANENT = frozenset({"3", "4", "6", "9", "10", "11", "13", "14"})


def vonage_status(value: str | None) -> str | None:
    """Normalised status for a Vonage DLR or Messages API `status`; None when unknown."""
    return VONAGE.get((value or "").strip().lower())


# --- SMPP 3.4: receipt `stat:` text and the `message_state` TLV (wire-formats §1d) ----------------
SMPP_STAT = {
    "ENROUTE": "sent",
    "DELIVRD": "delivered",
    "EXPIRED": "expired",
    "DELETED": "failed",
    "UNDELIV": "undelivered",
    "ACCEPTD": "submitted",  # final per the spec, but in practice a later receipt may follow
    "UNKNOWN": "unknown",
    "REJECTD": "rejected",
    "SCHEDULED": "queued",  # SMPP 5.0
    "SKIPPED": "failed",  # SMPP 5.0
    # long spellings some SMSCs write instead of the 7-letter codes
    "DELIVERED": "delivered",
    "UNDELIVERABLE": "undelivered",
    "ACCEPTED": "submitted",
    "REJECTED": "rejected",
    "EN_ROUTE": "sent",
}
SMPP_STATE = {
    0: "SCHEDULED",
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
    9: "SKIPPED",
}


def smpp_status(stat: str | int | None) -> str | None:
    """Normalised status for a receipt `stat:` text or a `message_state` integer; None when unknown."""
    if isinstance(stat, int) and not isinstance(stat, bool):
        stat = SMPP_STATE.get(stat)
    return SMPP_STAT.get((stat or "").strip().upper()) if isinstance(stat, str) else None
