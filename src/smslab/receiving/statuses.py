"""The normalised delivery status every provider maps onto (documented in docs/data-model.md).

Example:
    >>> from smslab.receiving.statuses import infobip_status
    >>> infobip_status(3, 5)
    'delivered'
    >>> infobip_status(3, 2)   # DELIVERED_TO_OPERATOR is intermediate
    'sent'
"""
from __future__ import annotations

NORMALISED = ["queued", "submitted", "sent", "delivered", "undelivered", "expired", "rejected", "failed", "unknown"]
FINAL = frozenset({"delivered", "undelivered", "expired", "rejected", "failed"})
# progress order among non-final statuses; a final status always outranks these
RANK = {"queued": 0, "unknown": 1, "submitted": 2, "sent": 3}

# Infobip groupId -> normalised status (key on groupId; ids refine it below)
INFOBIP_GROUPS = {1: "sent", 2: "undelivered", 3: "delivered", 4: "expired", 5: "rejected"}
# Infobip status ids whose meaning differs from their group
INFOBIP_IDS = {
    2: "sent",        # DELIVERED_TO_OPERATOR: intermediate, a handset report may follow
    26: "submitted",  # PENDING_ACCEPTED / MESSAGE_ACCEPTED: accepted by Infobip, not yet sent
}


def infobip_status(group_id: int | None, status_id: int | None) -> str | None:
    """Normalised status for an Infobip (groupId, id); None when the group is unknown."""
    if status_id in INFOBIP_IDS and group_id in (1, 3):
        return INFOBIP_IDS[status_id]
    return INFOBIP_GROUPS.get(group_id)  # type: ignore[arg-type]
