"""A loopback Twilio Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`.

Checks HTTP basic auth (AccountSid:AuthToken), the form encoding and the documented
parameters (known names only; To in E.164; From or MessagingServiceSid; Body; SendAt only
with ScheduleType=fixed and a MessagingServiceSid, 15 min to 35 days ahead). Answers as
Twilio does: 201 with the Message resource, 400 with a Twilio error code, 401 (20003), 429 (20429).
"""
from __future__ import annotations

import base64
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from .http import Answer, FakeServer, Request

PARAMS = {"To", "From", "Body", "StatusCallback", "MessagingServiceSid", "SendAt", "ScheduleType", "ValidityPeriod",
          "MaxPrice", "ProvideFeedback", "Attempt", "ForceDelivery", "ContentRetention", "AddressRetention",
          "SmartEncoded", "PersistentAction", "ShortenUrls", "MediaUrl", "ApplicationSid", "ContentSid",
          "ContentVariables", "RiskCheck", "SendAsMms", "Tags", "TrafficType"}


def twilio_error(status: int, code: int, message: str, headers: dict | None = None) -> Answer:
    return Answer(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                           "status": status}, headers or {})


class FakeTwilio(FakeServer):
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token",
                 invalid: set[str] | None = None, **kw) -> None:
        super().__init__(**kw)
        self.account_sid, self.auth_token = account_sid, auth_token
        self.invalid = invalid or set()
        # Twilio's own clock, for the SendAt window; a test that replays a day sets it to that day
        self.now = lambda: datetime.now(UTC).replace(tzinfo=None)
        self.accepted: Counter[str] = Counter()   # To -> times accepted
        self.forms: list[dict] = []

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
        return Answer(201, {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form.get("Body"),
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0",
            "num_segments": str(1 + len(form.get("Body", "")) // 161), "price": None, "price_unit": "USD",
            "sid": sid, "status": status,
            "subresource_uris": {"media": f"/2010-04-01/Accounts/x/Messages/{sid}/Media.json"},
            "to": to, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"})
