"""Infobip: the SMS HTTP API (`POST /sms/2/text/advanced`), and pulling reports for accounts without webhooks.

What smslab sends, per message of a batch (one request per batch):

    POST {INFOBIP_BASE_URL}/sms/2/text/advanced
    Authorization: App {INFOBIP_API_KEY}
    {"messages": [{"from": "36180", "destinations": [{"to": "33612345678", "messageId": "<our id>"}],
                   "text": "...", "notifyUrl": "{SMSLAB_PUBLIC_URL}/infobip/dlr",
                   "notifyContentType": "application/json", "callbackData": "<our id>",
                   "sendAt": "2026-12-01T14:00:00.000+0000", "validityPeriod": 2880}]}

Our message id goes in `messageId`, so Infobip's reports carry it and the outbox knows the
provider id before the request leaves. Answers: 200 with a status per message (PENDING →
submitted, REJECTED → refused for good), 400 (the batch is refused, permanent), 401/403
(credentials: the run stops, nothing is marked sent), 429 and 503 (temporary, certainly not
processed: retried with backoff), other 5xx and timeouts (outcome unknown: not resent).

Example:
    >>> import os
    >>> from smslab.providers.infobip import InfobipProvider
    >>> p = InfobipProvider(base_url="https://xyz.api.example", api_key="k")
    >>> p.client.headers["Authorization"].split()[0]
    'App'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from smslab.clock import utcnow
from smslab.errors import AuthenticationError, ProviderError, TransientError
from smslab.providers import OutboundMessage, Provider, SubmitResult, env
from smslab.providers.http import get_page
from smslab.receiving.journal import Journal

SEND_PATH = "/sms/2/text/advanced"
REPORTS_PATH = "/sms/1/reports"  # outbound delivery reports, each returned once
INBOX_PATH = "/sms/1/inbox/reports"  # inbound messages, each returned once
MAX_VALIDITY_MINUTES = 2880  # Infobip's maximum validity period (48 h)


SCHEDULE_MAX = timedelta(days=180)  # Infobip: sendAt at most 180 days in advance


def _base_url(raw: str) -> str:
    raw = raw.strip().rstrip("/")
    return raw if "://" in raw else f"https://{raw}"


def infobip_time(moment: datetime) -> str:
    """Infobip's date format: `2026-12-01T14:00:00.000+0000` (UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _error_text(response: httpx.Response) -> str:
    try:
        exc = response.json()["requestError"]["serviceException"]
        return f"{exc.get('messageId', '')}: {exc.get('text', '')}".strip(": ")
    except (ValueError, KeyError, TypeError):
        return response.reason_phrase or ""


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


@dataclass
class InfobipProvider(Provider):
    """Infobip over HTTP; settings from INFOBIP_BASE_URL, INFOBIP_API_KEY and SMSLAB_PUBLIC_URL."""

    name: str = "infobip"
    # Infobip documents `messageId` as the id of the message, not as an idempotency key:
    # nothing says a second request with the same id is refused, so a batch whose outcome is
    # unknown is not resent (see docs/providers.md).
    idempotent: bool = False
    batch_size: int = 100
    base_url: str | None = None
    api_key: str | None = None
    notify_url: str | None = None
    validity_minutes: int | None = MAX_VALIDITY_MINUTES
    timeout: float = 30.0
    landing: Any = None
    # the HTTP transport (httpx.MockTransport in unit tests); None: httpx's own, over the network
    transport: httpx.BaseTransport | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.base_url = _base_url(self.base_url or env("INFOBIP_BASE_URL"))
        key = self.api_key or env("INFOBIP_API_KEY")
        if self.notify_url is None and env("SMSLAB_PUBLIC_URL", required=False):
            self.notify_url = env("SMSLAB_PUBLIC_URL").rstrip("/") + "/infobip/dlr"
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=self.timeout,
            transport=self.transport,
            headers={"Authorization": f"App {key}", "Accept": "application/json"},
        )
        self.api_key = None  # the key lives in the client's headers only; never in repr() or logs

    def preassigned_id(self, message_id: str) -> str | None:
        return message_id  # Infobip uses the messageId we give it

    def request_body(self, batch: list[OutboundMessage]) -> dict:
        """The JSON body for one batch (see the module docstring)."""
        now = self.utcnow()
        messages = []
        for m in batch:
            item: dict[str, Any] = {
                "from": str(m.sender_id).lstrip("+"),  # Infobip writes numbers without +
                "destinations": [{"to": m.msisdn.lstrip("+"), "messageId": m.message_id}],
                "text": m.text,
                "callbackData": m.message_id,
            }
            if self.notify_url:
                item["notifyUrl"] = self.notify_url
                item["notifyContentType"] = "application/json"
            if m.schedule and m.scheduled_at is not None and m.scheduled_at.replace(tzinfo=None) > now:
                item["sendAt"] = infobip_time(m.scheduled_at)
            if self.validity_minutes:
                item["validityPeriod"] = int(self.validity_minutes)
            messages.append(item)
        return {"messages": messages}

    def submit(self, batch: list[OutboundMessage]) -> list[SubmitResult]:
        """One request for the batch; a status per message. A message due more than 180 days
        ahead (Infobip schedules no further) is not sent: it stays queued for a later run."""
        now = utcnow()
        later = {
            m.message_id
            for m in batch
            if m.schedule and m.scheduled_at is not None and m.scheduled_at.replace(tzinfo=None) - now > SCHEDULE_MAX
        }
        if later:
            waiting = [
                SubmitResult(
                    m.message_id,
                    accepted=False,
                    status="queued",
                    error_code="Infobip schedules at most 180 days ahead: waits for a later run",
                )
                for m in batch
                if m.message_id in later
            ]
            rest = [m for m in batch if m.message_id not in later]
            return waiting + (self._submit(rest) if rest else [])
        return self._submit(batch)

    def _submit(self, batch: list[OutboundMessage]) -> list[SubmitResult]:
        try:
            response = self.client.post(SEND_PATH, json=self.request_body(batch))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransientError(f"Infobip unreachable: {type(exc).__name__}", not_sent=True) from None
        except httpx.TransportError as exc:  # the request may have arrived: outcome unknown
            raise TransientError(f"Infobip: {type(exc).__name__} after sending", not_sent=False) from None
        code = response.status_code
        if code in (401, 403):
            raise AuthenticationError(
                f"Infobip refused the credentials (HTTP {code} {_error_text(response)}); "
                "check INFOBIP_API_KEY and INFOBIP_BASE_URL"
            )
        if code == 429 or code == 503:
            raise TransientError(
                f"HTTP {code} {_error_text(response)}", not_sent=True, retry_after=_retry_after(response)
            )
        if code >= 500:
            raise TransientError(
                f"HTTP {code} {_error_text(response)}", not_sent=False, retry_after=_retry_after(response)
            )
        if code >= 400:
            reason = f"HTTP {code} {_error_text(response)}"[:200]
            return [
                SubmitResult(m.message_id, accepted=False, status="failed", error_code=reason, permanent=True)
                for m in batch
            ]
        answers = {}
        for item in response.json().get("messages", []):
            answers[item.get("messageId")] = item
        results = []
        for m in batch:
            item = answers.get(m.message_id)
            if item is None:
                results.append(
                    SubmitResult(
                        m.message_id,
                        accepted=False,
                        status="unknown",
                        error_code="Infobip answered without this message",
                    )
                )
                continue
            status = item.get("status") or {}
            group = (status.get("groupName") or "").upper()
            if group in ("PENDING", "DELIVERED"):
                results.append(
                    SubmitResult(
                        m.message_id,
                        accepted=True,
                        provider_message_id=item["messageId"],
                        status="submitted",
                        parts=item.get("smsCount"),
                    )
                )
            else:
                results.append(
                    SubmitResult(
                        m.message_id,
                        accepted=False,
                        provider_message_id=item["messageId"],
                        status="rejected",
                        error_code=status.get("name") or group,
                        permanent=True,
                    )
                )
        return results

    def _pull(self, path: str, kind: str, limit: int, max_pages: int) -> int:
        if not 1 <= int(limit) <= 1000:
            raise ProviderError(f"Infobip {path}: limit must be 1..1000, got {limit}")
        journal = Journal(self.landing)
        total = 0

        def failed(text: str) -> str:  # what came before the failure is safe in the journal: say so
            saved = f" ({total} already saved to the journal)" if total else ""
            return f"Infobip {self.base_url}{path}: {text}{saved}"

        for _ in range(max_pages):
            response = get_page(
                self.client,
                path,
                {"limit": limit},
                failed=failed,
                error_text=_error_text,
                credentials="INFOBIP_API_KEY and INFOBIP_BASE_URL",
            )
            try:
                results = response.json().get("results") or []
            except (ValueError, AttributeError):
                raise ProviderError(failed("the answer is not an Infobip JSON body")) from None
            if not results:
                break
            journal.append_many(
                [
                    {
                        "provider": "infobip",
                        "kind": kind,
                        "content_type": "application/json",
                        "body": json.dumps({"results": results}, ensure_ascii=False),
                    }
                ]
            )
            total += len(results)
            if len(results) < limit:
                break
        return total

    def pull_reports(self, *, limit: int = 1000, max_pages: int = 1000) -> int:
        """Fetch delivery reports (each is returned once) into the landing-zone journal; returns how many.

        For accounts without a webhook: `smslab load` then takes them like pushed ones.
        """
        return self._pull(REPORTS_PATH, "dlr", limit, max_pages)

    def pull_inbound(self, *, limit: int = 1000, max_pages: int = 1000) -> int:
        """Fetch received messages (replies) into the journal; returns how many."""
        return self._pull(INBOX_PATH, "inbound", limit, max_pages)

    def close(self) -> None:
        self.client.close()


def pull(
    *, reports: bool = True, inbound: bool = True, limit: int = 1000, landing: str | os.PathLike[str] | None = None
) -> dict[str, int]:
    """Fetch Infobip's delivery reports and received messages into the landing-zone journal.

    For accounts without webhooks: Infobip hands each report and each reply out once, so they
    are journalled (fsynced) before anything else; `smslab load` then takes them like pushed ones.
    Returns how many of each were saved.

    Example:
        >>> # skipped in the tests: needs an Infobip account and the network
        >>> pull(landing="data/landing")          # doctest: +SKIP
        {'reports': 40, 'inbound': 3}
    """
    provider = InfobipProvider(landing=landing)
    counts = {"reports": 0, "inbound": 0}
    try:
        if reports:
            counts["reports"] = provider.pull_reports(limit=limit)
        if inbound:
            try:
                counts["inbound"] = provider.pull_inbound(limit=limit)
            except ProviderError as exc:
                if not counts["reports"]:
                    raise
                raise type(exc)(
                    f"{exc} (the {counts['reports']} report(s) pulled before are saved to the journal)"
                ) from None
    finally:
        provider.close()
    return counts
