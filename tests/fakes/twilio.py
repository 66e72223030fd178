"""A loopback Twilio Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, and
`GET` on the same URL (List Messages).

Checks HTTP basic auth (AccountSid:AuthToken), the form encoding and the documented
parameters (known names only; To in E.164; From or MessagingServiceSid; Body; SendAt only
with ScheduleType=fixed and a MessagingServiceSid, 15 min to 35 days ahead). Answers as
Twilio does: 201 with the Message resource, 400 with a Twilio error code, 401 (20003), 429 (20429).

List Messages (https://www.twilio.com/docs/sms/api/message-resource, "Read multiple Message
resources"): query parameters To, From, DateSent, `DateSent<` and `DateSent>` (YYYY-MM-DD in
GMT; `DateSent>=D` is sent as the parameter `DateSent>` with the value D: on or after that day,
`DateSent<` on or before), PageSize 1..1000 (default 50), Page and PageToken; the newest first;
`next_page_uri` (relative to the API base) until the last page, where it is null. Every message
the fake accepted is listed; `settle()` gives them the final status and price Twilio publishes later.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlencode

from .http import Answer, FakeServer, Request

PARAMS = {
    "To",
    "From",
    "Body",
    "StatusCallback",
    "MessagingServiceSid",
    "SendAt",
    "ScheduleType",
    "ValidityPeriod",
    "MaxPrice",
    "ProvideFeedback",
    "Attempt",
    "ForceDelivery",
    "ContentRetention",
    "AddressRetention",
    "SmartEncoded",
    "PersistentAction",
    "ShortenUrls",
    "MediaUrl",
    "ApplicationSid",
    "ContentSid",
    "ContentVariables",
    "RiskCheck",
    "SendAsMms",
    "Tags",
    "TrafficType",
}
LIST_PARAMS = {"To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken"}


def twilio_error(status: int, code: int, message: str, headers: dict | None = None) -> Answer:
    return Answer(
        status,
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        headers or {},
    )


class FakeTwilio(FakeServer):
    def __init__(
        self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token", invalid: set[str] | None = None, **kw
    ) -> None:
        super().__init__(**kw)
        self.account_sid, self.auth_token = account_sid, auth_token
        self.invalid = invalid or set()
        # Twilio's own clock, for the SendAt window; a test that replays a day sets it to that day
        self.now = lambda: datetime.now(UTC).replace(tzinfo=None)
        self.accepted: Counter[str] = Counter()  # To -> times accepted
        self.forms: list[dict] = []
        self.messages: list[dict] = []  # the Message resources, as List Messages shows them

    def settle(
        self,
        status: str = "delivered",
        price: str | None = "-0.00750",
        price_unit: str = "USD",
        error_code: int | None = None,
        to: str | None = None,
    ) -> int:
        """Give the accepted messages (to `to` only, when given) their final status and price,
        as Twilio publishes them on the resource after sending; returns how many."""
        changed = 0
        for m in self.messages:
            if to is None or m["to"] == to:
                segments = int(m["num_segments"])
                m.update(
                    status=status,
                    price=None if price is None else f"{float(price) * segments:.5f}",
                    price_unit=price_unit,
                    error_code=error_code,
                    date_updated=format_datetime(self.now().replace(tzinfo=UTC)),
                )
                changed += 1
        return changed

    def list_messages(self, request: Request) -> Answer:
        query = request.query
        if set(query) - LIST_PARAMS:
            self.problem(f"List Messages: unknown parameters {sorted(set(query) - LIST_PARAMS)}")
            return twilio_error(400, 20001, f"Unknown parameters {sorted(set(query) - LIST_PARAMS)}")
        if any(len(v) != 1 for v in query.values()):
            return self.bad(20001, "repeated query parameter")
        q = {k: v[0] for k, v in query.items()}
        bounds = {}
        for name in ("DateSent", "DateSent<", "DateSent>"):
            if name in q:
                try:
                    bounds[name] = datetime.strptime(q[name], "%Y-%m-%d").date()
                except ValueError:
                    return self.bad(20001, f"{name} must be a date YYYY-MM-DD in GMT, got {q[name]!r}")
        try:
            size = int(q.get("PageSize", "50"))
            page = int(q.get("Page", "0"))
        except ValueError:
            return self.bad(20001, "PageSize and Page must be integers")
        if not 1 <= size <= 1000 or page < 0:
            return self.bad(20001, f"PageSize must be 1..1000, got {size}")
        if page > 0 and not q.get("PageToken", "").startswith("PA"):
            return self.bad(20001, "Page without the PageToken of next_page_uri")

        def keep(m: dict) -> bool:
            sent = datetime.strptime(m["date_sent"], "%a, %d %b %Y %H:%M:%S %z").date()
            return (
                (q.get("To") in (None, m["to"]))
                and (q.get("From") in (None, m["from"]))
                and bounds.get("DateSent", sent) == sent
                and bounds.get("DateSent>", sent) <= sent
                and bounds.get("DateSent<", sent) >= sent
            )

        chosen = sorted(
            (m for m in self.messages if keep(m)),
            key=lambda m: datetime.strptime(m["date_sent"], "%a, %d %b %Y %H:%M:%S %z"),
            reverse=True,
        )
        rows = chosen[page * size : (page + 1) * size]
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        filters = {k: v for k, v in q.items() if k not in ("Page", "PageToken", "PageSize")}

        def uri(n: int) -> str:
            token = {"PageToken": f"PA{rows[-1]['sid']}"} if n > 0 and rows else {}
            return path + "?" + urlencode({**filters, "PageSize": size, "Page": n, **token})

        more = (page + 1) * size < len(chosen)
        return Answer(
            200,
            {
                "messages": [dict(m) for m in rows],
                "page": page,
                "page_size": size,
                "first_page_uri": uri(0),
                "uri": path + "?" + urlencode(q),
                "previous_page_uri": uri(page - 1) if page > 0 else None,
                "next_page_uri": uri(page + 1) if more else None,
                "start": page * size,
                "end": page * size + max(len(rows) - 1, 0),
            },
        )

    def is_send(self, request: Request) -> bool:
        return request.method == "POST" and request.path.endswith("/Messages.json")

    def scripted(self, status: int, request: Request) -> Answer:
        if status == 429:
            return twilio_error(429, 20429, "Too Many Requests", {"Retry-After": "0"})
        if status >= 10000:  # a Twilio error code answered with 400, e.g. 21611 (the From queue is full)
            return twilio_error(400, status, f"Twilio error {status}")
        return twilio_error(status, 20500, "Internal Server Error")

    def bad(self, code: int, text: str) -> Answer:
        self.problem(text)
        return twilio_error(400, code, text)

    def route(self, request: Request) -> Answer:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return twilio_error(401, 20003, "Authenticate")
        if request.path == f"/2010-04-01/Accounts/{self.account_sid}/Messages.json" and request.method == "GET":
            return self.list_messages(request)
        if request.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json" or request.method != "POST":
            self.problem(f"{request.method} {request.path}: not the Messages resource of this account")
            return twilio_error(404, 20404, "The requested resource was not found")
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return self.bad(21600, "body must be application/x-www-form-urlencoded")
        raw = request.form()
        if any(len(v) != 1 for v in raw.values()):
            return self.bad(21600, "repeated parameter")
        form = {k: v[0] for k, v in raw.items()}
        if set(form) - PARAMS:
            return self.bad(21600, f"unknown parameters {sorted(set(form) - PARAMS)}")
        to = form.get("To", "")
        if not re.match(r"^\+[1-9]\d{6,14}$", to):
            return self.bad(21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return self.bad(21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
            return self.bad(21602, "Message body is required")
        if "StatusCallback" in form and not re.match(r"^https?://", form["StatusCallback"]):
            return self.bad(21609, "Invalid StatusCallback URL")
        status = "queued"
        if "SendAt" in form or "ScheduleType" in form:
            if form.get("ScheduleType") != "fixed" or not form.get("MessagingServiceSid") or "SendAt" not in form:
                return self.bad(35111, "SendAt needs ScheduleType=fixed and a MessagingServiceSid")
            try:
                at = datetime.strptime(form["SendAt"], "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                return self.bad(35111, "SendAt must be ISO 8601 in UTC")
            ahead = at - self.now()
            if not timedelta(minutes=15) <= ahead <= timedelta(days=35):
                return self.bad(35114, "SendAt must be between 15 minutes and 35 days in the future")
            status = "scheduled"
        elif form.get("MessagingServiceSid"):
            status = "accepted"
        if to in self.invalid:
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        self.forms.append(form)
        self.accepted[to] += 1
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC))
        resource = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body"),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(1 + len(form.get("Body", "")) // 161),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": f"/2010-04-01/Accounts/x/Messages/{sid}/Media.json"},
            "to": to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        sent = format_datetime((at if "SendAt" in form else self.now()).replace(tzinfo=UTC))
        self.messages.append({**resource, "date_sent": sent, "status": "sent" if status == "queued" else status})
        return Answer(201, resource)
