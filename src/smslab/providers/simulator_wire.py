"""Infobip's webhook wire format as the simulator writes it: status and error objects, timestamps,
and Arrow string arrays concatenated and written without a Python loop per message.

Example:
    >>> OUTCOME_JSON[2].startswith('"status": {"groupId": 3')
    True
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from smslab.providers.simulated_network import (
    DELIVERED_TO_HANDSET,
    DELIVERED_TO_OPERATOR,
    FAILURES,
    NO_ERROR,
    PENDING_ENROUTE,
)


def _infobip_times(moments: np.ndarray) -> pa.Array:
    """datetime64[us] → Infobip's '2026-12-01T14:00:03.120+0000' strings (years 1000-9999).

    Digits are written straight into one fixed-width buffer (civil date from days since the
    epoch, Hinnant's algorithm): 4-5x faster than `np.datetime_as_string`.

    >>> _infobip_times(np.array(["2026-12-01T14:00:03.120456"], dtype="datetime64[us]")).to_pylist()
    ['2026-12-01T14:00:03.120+0000']
    """
    ms = moments.astype("datetime64[ms]").astype(np.int64)
    days, rem = np.divmod(ms, 86_400_000)
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = np.where(mp < 10, mp + 3, mp - 9)
    fields = (
        (yoe + era * 400 + (month <= 2), 0, 4),
        (month, 5, 2),
        (doy - (153 * mp + 2) // 5 + 1, 8, 2),
        (rem // 3_600_000, 11, 2),
        (rem // 60_000 % 60, 14, 2),
        (rem // 1000 % 60, 17, 2),
        (rem % 1000, 20, 3),
    )
    n, width = len(ms), len(_TIME_TEMPLATE)
    text = np.frombuffer(_TIME_TEMPLATE * n, np.uint8).reshape(n, width).copy()
    for value, start, digits in fields:
        for k in range(digits):
            text[:, start + digits - 1 - k] = 48 + (value // 10**k) % 10
    offsets = np.arange(0, width * n + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))


_TIME_TEMPLATE = b"0000-00-00T00:00:00.000+0000"


def _status_json(status: tuple) -> str:
    group_id, group_name, status_id, status_name = status
    return json.dumps(
        {
            "groupId": group_id,
            "groupName": group_name,
            "id": status_id,
            "name": status_name,
            "description": status_name.replace("_", " ").capitalize(),
        }
    )


def _error_json(error: tuple) -> str:
    return json.dumps(
        {
            "groupId": 0 if error[0] == 0 else 1,
            # group 0 is "OK" on Infobip's error-codes page (developer-resources/errors-and-responses)
            "groupName": "OK" if error[0] == 0 else "HANDSET_ERRORS",
            "id": error[0],
            "name": error[1],
            "description": error[1],
            "permanent": error[2],
        }
    )


# every (status, error) a report can carry, pre-rendered once
OUTCOMES = [(PENDING_ENROUTE, NO_ERROR), (DELIVERED_TO_OPERATOR, NO_ERROR), (DELIVERED_TO_HANDSET, NO_ERROR)] + [
    (status, error) for _, status, error, _ in FAILURES if status is not None and error is not None
]
OUTCOME_JSON = [f'"status": {_status_json(s)}, "error": {_error_json(e)}' for s, e in OUTCOMES]


_NONE = np.array(None, dtype=object)  # np.where(…, None, …) as numpy's type stubs accept it (same object result)

FRAME_COLUMNS = [
    "message_id",
    "campaign_id",
    "msisdn",
    "region",
    "sender_id",
    "segments",
    "scheduled_at",
    "two_way",
    "opt_out_short_code",
]


def _esc(text: str) -> str:
    """`text` as it appears inside a JSON string literal (quotes and backslashes escaped)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _concat(*pieces: Any) -> pa.Array:
    """Element-wise string concatenation of Arrow arrays and plain strings, in one pass."""
    return pc.binary_join_element_wise(*pieces, "")


def _write_array(handle: Any, lines: pa.Array) -> None:
    """Write an Arrow string array's characters straight from its buffer (no Python strings)."""
    if len(lines) == 0:
        return
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    handle.write(memoryview(lines.buffers()[2])[start:end])
