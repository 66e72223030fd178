"""The landing-zone journal: every accepted webhook, as received, in plain JSON-lines files.

Layout: `<landing>/<provider>/<YYYY-MM-DD>/<kind>-<host>-<pid>-<token>.jsonl`, one envelope
per line:

    {"id": "...", "provider": "infobip", "kind": "dlr", "received_at": "2026-12-01T14:00:03.120000",
     "content_type": "application/json", "body": "<the request body, verbatim>"}

A writer appends whole lines and fsyncs before it reports success, so a reader (the loader)
only ever trusts complete lines (ending in a newline).

Example:
    >>> import tempfile
    >>> from smslab.receiving.journal import Journal
    >>> j = Journal(tempfile.mkdtemp())
    >>> j.append_many([{"provider": "infobip", "kind": "dlr", "body": "{}"}])
    1
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from smslab import config
from smslab.clock import utcnow

KINDS = ("dlr", "inbound")


class Journal:
    """Appends envelopes to the landing zone; one open file per (provider, day, kind) per writer."""

    def __init__(self, landing: str | os.PathLike[str] | None = None) -> None:
        self.root = config.landing_dir(landing)
        self._token = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def path_for(self, provider: str, kind: str, day: datetime) -> Path:
        folder = self.root / provider / day.strftime("%Y-%m-%d")
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            _fsync_dir(folder.parent)  # the new folder's entry survives a crash
        return folder / f"{kind}-{self._token}.jsonl"

    @staticmethod
    def envelope(
        provider: str,
        kind: str,
        body: str | bytes,
        *,
        content_type: str = "application/json",
        received_at: datetime | None = None,
        meta: dict | None = None,
    ) -> dict:
        """The journal record of one received request (body kept verbatim)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        record: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "provider": provider,
            "kind": kind,
            "received_at": (received_at or utcnow()).isoformat(),
            "content_type": content_type,
            "body": body.decode("utf-8", "replace") if isinstance(body, bytes) else body,
        }
        if meta:
            record["meta"] = meta
        return record

    def write_records(self, records: list[dict]) -> int:
        """Append ready envelopes (see `envelope`) and fsync each touched file once: one group commit."""
        by_file: dict[Path, list[str]] = {}
        for record in records:
            day = datetime.fromisoformat(record["received_at"])
            path = self.path_for(record["provider"], record["kind"], day)
            by_file.setdefault(path, []).append(json.dumps(record, ensure_ascii=False) + "\n")
        for path, lines in by_file.items():
            new = not path.exists()
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
            if new:
                _fsync_dir(path.parent)
        return len(records)

    def append_many(self, envelopes: Iterable[dict]) -> int:
        """Append envelopes given as dicts (provider, kind, body, [content_type, received_at, id]); one group commit."""
        records = []
        for env in envelopes:
            received = env.get("received_at")
            if isinstance(received, str):
                received = datetime.fromisoformat(received)
            body = env["body"] if isinstance(env["body"], (str, bytes)) else json.dumps(env["body"])
            record = self.envelope(
                env["provider"],
                env["kind"],
                body,
                content_type=env.get("content_type", "application/json"),
                received_at=received,
            )
            if env.get("id"):
                record["id"] = env["id"]
            records.append(record)
        return self.write_records(records)


def _fsync_dir(folder: Path) -> None:
    """fsync a directory so that a file or folder just created in it is durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def journal_files(landing: str | os.PathLike[str] | None = None) -> list[Path]:
    """Every journal file under the landing zone, in a stable order."""
    root = config.landing_dir(landing)
    if not root.exists():
        return []
    return sorted(root.glob("*/*/*.jsonl"))
