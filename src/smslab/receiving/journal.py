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
    >>> path = j.append_many([{"provider": "infobip", "kind": "dlr", "body": "{}"}])
    >>> path.suffix
    '.jsonl'
"""
from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import datetime
from pathlib import Path
from typing import Iterable

from smslab import config
from smslab.store import utcnow

KINDS = ("dlr", "inbound")


class Journal:
    """Appends envelopes to the landing zone; one open file per (provider, day, kind) per writer."""

    def __init__(self, landing: str | os.PathLike[str] | None = None) -> None:
        self.root = config.landing_dir(landing)
        self._token = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def path_for(self, provider: str, kind: str, day: datetime) -> Path:
        folder = self.root / provider / day.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{kind}-{self._token}.jsonl"

    def append_many(self, envelopes: Iterable[dict]) -> Path | None:
        """Append envelopes (provider, kind, body, [content_type, received_at]); fsync once. Returns the last file."""
        by_file: dict[Path, list[str]] = {}
        for env in envelopes:
            if env["kind"] not in KINDS:
                raise ValueError(f"kind must be one of {KINDS}")
            received = env.get("received_at") or utcnow()
            if isinstance(received, str):
                received = datetime.fromisoformat(received)
            record = {
                "id": env.get("id") or uuid.uuid4().hex,
                "provider": env["provider"],
                "kind": env["kind"],
                "received_at": received.isoformat(),
                "content_type": env.get("content_type", "application/json"),
                "body": env["body"] if isinstance(env["body"], str) else json.dumps(env["body"]),
            }
            path = self.path_for(env["provider"], env["kind"], received)
            by_file.setdefault(path, []).append(json.dumps(record, ensure_ascii=False) + "\n")
        last = None
        for path, lines in by_file.items():
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
            last = path
        return last


def journal_files(landing: str | os.PathLike[str] | None = None) -> list[Path]:
    """Every journal file under the landing zone, in a stable order."""
    root = config.landing_dir(landing)
    if not root.exists():
        return []
    return sorted(root.glob("*/*/*.jsonl"))
