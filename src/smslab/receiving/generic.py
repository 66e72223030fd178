"""The generic CSV of delivery events: `provider_message_id,status,event_at[,error_code]`.

`status` is already a normalised status (any case); `event_at` is ISO-8601 (a zone is
converted to UTC, none means UTC). Rows are loaded as provider `csv`.

Example:
    >>> events, _, problems = parse_row({"provider_message_id": "a1", "status": "Delivered",
    ...                                  "event_at": "2026-12-01T14:00:09Z"})
    >>> events[0]["status"], events[0]["event_at"], problems
    ('delivered', datetime.datetime(2026, 12, 1, 14, 0, 9), [])
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from smslab.receiving.records import Result, event
from smslab.receiving.statuses import NORMALISED

REQUIRED = ("provider_message_id", "status", "event_at")


def _time(value: Any) -> datetime | None:
    import pandas as pd  # here, not at import: the CLI reads the format registry at start-up

    try:
        moment = pd.Timestamp(value or "")
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(moment):
        return None
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    return moment.to_pydatetime()


def parse_row(row: dict, *, received_at: datetime | None = None) -> Result:
    """One CSV row → one delivery event, or a problem naming the bad field."""
    raw = json.dumps(row, ensure_ascii=False)
    status = str(row.get("status") or "").strip().lower()
    event_at = _time(row.get("event_at"))
    if event_at is None:
        return [], [], [f"row: bad event_at {row.get('event_at')!r}"]
    if status not in NORMALISED:
        return [], [], [f"row: unknown status {row.get('status')!r}"]
    pid = str(row.get("provider_message_id") or "").strip()
    if not pid:
        return [], [], ["row: provider_message_id missing"]
    return (
        [
            event(
                "csv",
                pid,
                status,
                str(row["status"]),
                str(row.get("error_code") or "").strip() or None,
                None,
                event_at,
                raw,
            )
        ],
        [],
        [],
    )
