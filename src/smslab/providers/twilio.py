"""Twilio: the Messages API, one `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` per message.

What smslab sends (form-encoded, HTTP basic auth with TWILIO_ACCOUNT_SID : TWILIO_AUTH_TOKEN):

    To=+33612345678  From=36180  Body=...  StatusCallback={SMSLAB_PUBLIC_URL}/twilio/status
    # a message for a future moment goes through the Messaging Service:
    MessagingServiceSid={TWILIO_MESSAGING_SERVICE_SID}  ScheduleType=fixed  SendAt=2026-12-01T14:00:00Z

Answers: 201 with the Message resource (its `sid` is the provider id, `num_segments` the
parts); 400 (this message is refused for good: invalid number, 21610 unsubscribed…), except
the codes of `TEMPORARY_CODES` (21611 the From number's queue is full, rate and daily limits:
not created, retried later); 401/403 (credentials: the run stops); 429 (this and the rest of
the batch were not sent: retried with backoff); 5xx or a timeout (this message's outcome is unknown: never resent; the
rest of the batch was not sent). Twilio has no idempotency key, so the provider is not
idempotent. Twilio can only schedule 15 minutes to 35 days ahead: a message due sooner
or later stays queued for a later `smslab send` run.

The create answer has no price (`price: null`): Twilio publishes it later on the Message
resource. `pull` (`smslab pull twilio`) reads List Messages, `GET …/Messages.json?DateSent>=…
&DateSent<=…&PageSize=…` then each `next_page_uri`, into the journal; `smslab load` gives the
messages their final status, error code and price.

Example:
    >>> from smslab.providers.twilio import TwilioProvider
    >>> p = TwilioProvider(account_sid="AC123", auth_token="t")
    >>> p.messages_path
    '/2010-04-01/Accounts/AC123/Messages.json'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from smslab import identity
from smslab.clock import utcnow
from smslab.errors import AuthenticationError, ProviderError
from smslab.providers import OutboundMessage, Provider, SubmitResult, env
from smslab.providers.http import get_page
from smslab.receiving.journal import Journal

DEFAULT_BASE = "https://api.twilio.com"
# Error codes of a refused create (HTTP 400/429) that say "not now" rather than "never", from
# Twilio's error dictionary (https://www.twilio.com/docs/api/errors/<code>): the message was not
# created, so it goes back to the queue and is retried later. `True`: the limit is the sender's
# or the account's, so the rest of the batch would meet it too (the batch stops there); `False`:
# only this pair of numbers is limited.
TEMPORARY_CODES: dict[int, bool] = {
    20429: True,  # Too many requests (REST API concurrency): "safe to retry after backing off"
    21611: True,  # This 'From' number has exceeded the maximum number of queued messages
    63017: True,  # Rate limit exceeded (account and subaccounts above 2,000 messages/s)
    63038: True,  # Account exceeded the daily messages limit (rolling 24 hours)
    35125: True,  # Maximum limit reached in the account for scheduling messages
    14107: False,  # SMS send rate limit exceeded (30 replies between two numbers in 30 s)
}
SCHEDULE_MIN = timedelta(minutes=15)
SCHEDULE_MAX = timedelta(days=35)
ACCEPTED = {"queued", "accepted", "scheduled", "sending", "sent"}
PULL_DAYS = 7  # `pull` without --since: the last 7 days
PAGE_SIZE_MAX = 1000  # List Messages: PageSize is 1..1000 (default 50)


def _error_code(response: httpx.Response) -> int | None:
    """Twilio's error `code` in an error answer, or None."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _twilio_error(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"{body.get('code')}: {body.get('message')}"
    except ValueError:
        return f"HTTP {response.status_code}"


@dataclass
class TwilioProvider(Provider):
    """Twilio Messages API; settings from TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_BASE,
    TWILIO_MESSAGING_SERVICE_SID and SMSLAB_PUBLIC_URL."""

    name: str = "twilio"
    idempotent: bool = False
    batch_size: int = 50
    account_sid: str | None = None
    auth_token: str | None = None
    base_url: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    timeout: float = 30.0
    # the HTTP transport (httpx.MockTransport in unit tests); None: httpx's own, over the network
    transport: httpx.BaseTransport | None = field(default=None, repr=False)
    landing: Any = None  # the journal folder `pull_messages` writes to

    def __post_init__(self) -> None:
        self.account_sid = self.account_sid or env("TWILIO_ACCOUNT_SID")
        token = self.auth_token or env("TWILIO_AUTH_TOKEN")
        self.base_url = (self.base_url or env("TWILIO_API_BASE", DEFAULT_BASE)).rstrip("/")
        self.messaging_service_sid = self.messaging_service_sid or env("TWILIO_MESSAGING_SERVICE_SID", required=False)
        if self.status_callback is None and env("SMSLAB_PUBLIC_URL", required=False):
            self.status_callback = env("SMSLAB_PUBLIC_URL").rstrip("/") + "/twilio/status"
        self.client = httpx.Client(
            base_url=self.base_url,
            auth=(self.account_sid, token),
            timeout=self.timeout,
            transport=self.transport,
            headers={"Accept": "application/json"},
        )
        self.auth_token = None  # kept only inside the client; never in repr() or logs

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def form(self, m: OutboundMessage, now: datetime) -> dict[str, str] | None:
        """The form fields for one message, or None when it cannot be scheduled yet (too soon / too far)."""
        fields = {"To": identity.address(m.msisdn), "Body": m.text}
        if self.status_callback:
            fields["StatusCallback"] = self.status_callback
        at = m.scheduled_at.replace(tzinfo=None) if m.scheduled_at is not None else None
        if m.schedule and at is not None and at > now:
            if not self.messaging_service_sid:
                raise ProviderError(
                    "scheduling a Twilio message needs a Messaging Service: set TWILIO_MESSAGING_SERVICE_SID"
                )
            if not SCHEDULE_MIN <= at - now <= SCHEDULE_MAX:
                return None
            fields.update(
                MessagingServiceSid=self.messaging_service_sid,
                ScheduleType="fixed",
                SendAt=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        else:
            # one identity per number: a long code or toll-free number in E.164 with +, a short
            # code as its digits, an alphanumeric id as written (smslab.identity)
            fields["From"] = identity.address(m.sender_id, m.region, m.sender_type)
        return fields

    def submit(self, batch: list[OutboundMessage]) -> list[SubmitResult]:
        """One request per message; stops at the first temporary refusal (the rest were not sent)."""
        results: list[SubmitResult] = []
        now = self.utcnow()
        stop: str | None = None
        for m in batch:
            if stop is not None:
                results.append(
                    SubmitResult(m.message_id, accepted=False, status="queued", temporary=True, error_code=stop)
                )
                continue
            fields = self.form(m, now)
            if fields is None:
                results.append(
                    SubmitResult(
                        m.message_id,
                        accepted=False,
                        status="queued",
                        error_code="Twilio schedules 15 min to 35 days ahead: waits for a later run",
                    )
                )
                continue
            try:
                response = self.client.post(self.messages_path, data=fields)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                stop = f"Twilio unreachable: {type(exc).__name__}"
                results.append(
                    SubmitResult(m.message_id, accepted=False, status="queued", temporary=True, error_code=stop)
                )
                continue
            except httpx.TransportError as exc:
                stop = "not sent: an earlier message's outcome is unknown"
                results.append(
                    SubmitResult(
                        m.message_id,
                        accepted=False,
                        status="unknown",
                        error_code=f"{type(exc).__name__} after sending: outcome unknown",
                    )
                )
                continue
            code = response.status_code
            if code in (401, 403):  # what was accepted so far is recorded by the sender before it stops
                done = {r.message_id for r in results}
                rest = [
                    SubmitResult(x.message_id, accepted=False, status="queued", error_code="credentials refused")
                    for x in batch
                    if x.message_id not in done
                ]
                raise AuthenticationError(
                    f"Twilio refused the credentials ({_twilio_error(response)}); "
                    "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
                    results=results + rest,
                )
            twilio_code = _error_code(response) if code >= 400 else None
            if code == 429 or code == 503 or (code < 500 and twilio_code in TEMPORARY_CODES):
                reason = f"HTTP {code} {_twilio_error(response)}"
                if code in (429, 503) or TEMPORARY_CODES.get(twilio_code or 0, True):
                    stop = reason
                results.append(
                    SubmitResult(m.message_id, accepted=False, status="queued", temporary=True, error_code=reason[:200])
                )
                continue
            if code >= 500:
                stop = "not sent: an earlier message's outcome is unknown"
                results.append(
                    SubmitResult(
                        m.message_id,
                        accepted=False,
                        status="unknown",
                        error_code=f"HTTP {code} {_twilio_error(response)}: outcome unknown",
                    )
                )
                continue
            if code >= 400:
                results.append(
                    SubmitResult(
                        m.message_id,
                        accepted=False,
                        status="failed",
                        permanent=True,
                        error_code=_twilio_error(response)[:200],
                    )
                )
                continue
            body = response.json()
            status = body.get("status")
            price = body.get("price")
            parts = body.get("num_segments")
            results.append(
                SubmitResult(
                    m.message_id,
                    accepted=status in ACCEPTED,
                    provider_message_id=body.get("sid"),
                    status="submitted" if status in ACCEPTED else "failed",
                    error_code=None if status in ACCEPTED else str(body.get("error_code") or status),
                    price=abs(float(price)) if price not in (None, "") else None,
                    currency=(body.get("price_unit") or None) if price not in (None, "") else None,
                    parts=int(parts) if parts not in (None, "") else None,
                )
            )
        return results

    def pull_messages(
        self, *, since: date, until: date, page_size: int = PAGE_SIZE_MAX, max_pages: int = 100_000
    ) -> dict[str, int]:
        """Read the Message resources sent from `since` to `until` (days in GMT, both included)
        into the landing-zone journal, page by page; returns how many outbound and inbound.

        `GET Messages.json?DateSent>=since&DateSent<=until&PageSize=…`, then each page's
        `next_page_uri` until it is null. Each page is journalled (fsynced) as it arrives, as one
        `twilio`/`dlr` record `{"messages": [...]}`; `smslab load` reads it with
        `smslab.receiving.twilio.parse_dlr`.
        """
        if not 1 <= int(page_size) <= PAGE_SIZE_MAX:
            raise ProviderError(f"Twilio List Messages: page size must be 1..{PAGE_SIZE_MAX}, got {page_size}")
        if since > until:
            raise ProviderError(f"Twilio List Messages: --since {since} is after --until {until}")
        journal = Journal(self.landing)
        counts = {"messages": 0, "inbound": 0}
        url: str | None = self.messages_path
        params: dict[str, Any] | None = {
            "DateSent>": since.isoformat(),
            "DateSent<": until.isoformat(),
            "PageSize": int(page_size),
        }

        def failed(text: str) -> str:  # what came before the failure is safe in the journal: say so
            done = counts["messages"] + counts["inbound"]
            saved = f" ({done} message(s) already saved to the journal)" if done else ""
            return f"Twilio {self.base_url}{self.messages_path}: {text}{saved}"

        for _ in range(max_pages):
            if url is None:
                break
            response = get_page(
                self.client,
                url,
                params,
                failed=failed,
                error_text=_twilio_error,
                credentials="TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
            )
            try:
                page = response.json()
                messages = page["messages"]
                following = page.get("next_page_uri")
                if not isinstance(messages, list):
                    raise TypeError
            except (ValueError, KeyError, TypeError, AttributeError):
                raise ProviderError(failed("the answer is not a Twilio message list")) from None
            if messages:
                journal.append_many(
                    [
                        {
                            "provider": "twilio",
                            "kind": "dlr",
                            "content_type": "application/json",
                            "body": json.dumps({"messages": messages}, ensure_ascii=False),
                        }
                    ]
                )
            inbound = sum(
                1 for m in messages if isinstance(m, dict) and str(m.get("direction") or "").startswith("inbound")
            )
            counts["inbound"] += inbound
            counts["messages"] += len(messages) - inbound
            # the next page, relative to the API base (never another host: the credentials go with it)
            url = following if isinstance(following, str) and following.startswith("/") else None
            params = None  # next_page_uri carries the filters and the page token
        return counts

    def close(self) -> None:
        self.client.close()


def day(text: str, option: str) -> date:
    """A day given as an ISO date (`2026-12-01`) or date-time (its day, in UTC); ProviderError naming the option.

    Example:
        >>> day("2026-12-01", "--since"), day("2026-12-01T23:30:00-02:00", "--until")
        (datetime.date(2026, 12, 1), datetime.date(2026, 12, 2))
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ProviderError(f"{option} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-01") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def pull(
    *,
    since: date | str | None = None,
    until: date | str | None = None,
    page_size: int = PAGE_SIZE_MAX,
    landing: str | os.PathLike[str] | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Fetch the price, final status and error code of the Twilio messages sent from `since` to
    `until` (days in GMT, both included; default: the last 7 days up to `today`) into the
    landing-zone journal. For accounts without status callbacks, and for prices: Twilio's create
    answer has `price: null`, the price comes later on the Message resource. `smslab load` then
    updates `messages.status`, `error_code`, `price` and `currency`.

    Example:
        >>> # skipped in the tests: needs a Twilio account and the network
        >>> pull(since="2026-12-01", landing="data/landing")     # doctest: +SKIP
        {'messages': 40, 'inbound': 3, 'since': '2026-12-01', 'until': '2026-12-07'}
    """
    last = day(until, "--until") if isinstance(until, str) else until
    last = last or today or utcnow().date()
    first = day(since, "--since") if isinstance(since, str) else since
    first = first or last - timedelta(days=PULL_DAYS - 1)
    provider = TwilioProvider(landing=landing)
    try:
        counts: dict[str, Any] = dict(provider.pull_messages(since=first, until=last, page_size=page_size))
    finally:
        provider.close()
    counts.update(since=first.isoformat(), until=last.isoformat())
    return counts
