"""A loopback Infobip SMS API: `POST /sms/2/text/advanced`, `GET /sms/1/reports`, `GET /sms/1/inbox/reports`,
and the v3 `POST /sms/3/messages` that Infobip's own Python client (SDK 6) sends.

Every request is checked against the documented API: method and path, `Authorization: App
<key>`, JSON content type, and the body's fields (known names only, `destinations[].to` in
international format without '+', `notifyContentType`, `sendAt` format, `validityPeriod` range).
A request that breaks it gets Infobip's 400 `BAD_REQUEST` and is listed in `problems`.
Answers are Infobip's documented ones: 200 with a status per message, 400, 401, 429.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

from .http import Answer, FakeServer, Request

MESSAGE_FIELDS = {
    "from",
    "destinations",
    "text",
    "flash",
    "language",
    "transliteration",
    "intermediateReport",
    "notifyUrl",
    "notifyContentType",
    "callbackData",
    "validityPeriod",
    "sendAt",
    "deliveryTimeWindow",
    "regional",
    "entityId",
    "applicationId",
}
TOP_FIELDS = {"bulkId", "messages", "tracking", "sendingSpeedLimit", "urlOptions", "includeSmsCountInResponse"}
V3_TOP = {"messages", "options"}
V3_MESSAGE = {"sender", "destinations", "content", "options", "webhooks"}
V3_OPTIONS = {"platform", "validityPeriod", "deliveryTimeWindow", "campaignReferenceId", "regional", "flash"}
V3_REQUEST_OPTIONS = {"schedule", "tracking", "includeSmsCountInResponse", "conversionTracking"}
V3_WEBHOOKS = {"delivery", "contentType", "callbackData"}
V3_UNITS = {"SECONDS": 1 / 60, "MINUTES": 1, "HOURS": 60}
SEND_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
PENDING = {
    "groupId": 1,
    "groupName": "PENDING",
    "id": 26,
    "name": "PENDING_ACCEPTED",
    "description": "Message sent to next instance",
}
REJECTED = {
    "groupId": 5,
    "groupName": "REJECTED",
    "id": 6,
    "name": "REJECTED_NETWORK",
    "description": "Network is forbidden",
}


def error(status: int, message_id: str, text: str, headers: dict | None = None) -> Answer:
    return Answer(
        status, {"requestError": {"serviceException": {"messageId": message_id, "text": text}}}, headers or {}
    )


class FakeInfobip(FakeServer):
    """`api_key` is the key it accepts; numbers in `rejected` get a REJECTED status."""

    def __init__(self, api_key: str = "test-key", rejected: set[str] | None = None, **kw) -> None:
        super().__init__(**kw)
        self.api_key = api_key
        self.rejected = rejected or set()
        self.accepted: Counter[str] = Counter()  # our messageId -> times accepted
        self.bodies: list[dict] = []
        self.bodies_v3: list[dict] = []  # bodies of POST /sms/3/messages (the SDK's send)
        self.pending_reports: list[dict] = []
        self.pending_inbound: list[dict] = []

    def is_send(self, request: Request) -> bool:
        return request.method == "POST" and request.path == "/sms/2/text/advanced"

    def scripted(self, status: int, request: Request) -> Answer:
        if status == 429:
            return error(429, "TOO_MANY_REQUESTS", "Too many requests", {"Retry-After": "0"})
        return error(status, "GENERAL_ERROR", "Something went wrong")

    def route(self, request: Request) -> Answer:
        if request.headers.get("authorization") != f"App {self.api_key}":
            return error(401, "UNAUTHORIZED", "Invalid login details")
        if self.is_send(request):
            return self.send(request)
        if request.method == "POST" and request.path == "/sms/3/messages":
            return self.send_v3(request)
        if request.method == "GET" and request.path in ("/sms/1/reports", "/sms/1/inbox/reports"):
            return self.reports(request)
        self.problem(f"{request.method} {request.path}: not an Infobip SMS endpoint")
        return error(404, "NOT_FOUND", "Not found")

    def bad(self, text: str) -> Answer:
        self.problem(text)
        return error(400, "BAD_REQUEST", text)

    def send(self, request: Request) -> Answer:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self.bad("Content-Type must be application/json")
        try:
            body = request.json()
        except ValueError:
            return self.bad("body is not JSON")
        if set(body) - TOP_FIELDS:
            return self.bad(f"unknown fields {sorted(set(body) - TOP_FIELDS)}")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.bad("messages must be a non-empty array")
        out = []
        for i, m in enumerate(messages):
            if set(m) - MESSAGE_FIELDS:
                return self.bad(f"messages[{i}]: unknown fields {sorted(set(m) - MESSAGE_FIELDS)}")
            if not isinstance(m.get("text"), str) or not m["text"]:
                return self.bad(f"messages[{i}].text is required")
            if not isinstance(m.get("from"), str) or not m["from"]:
                return self.bad(f"messages[{i}].from must be a string")
            if m.get("notifyContentType", "application/json") not in ("application/json", "application/xml"):
                return self.bad(f"messages[{i}].notifyContentType")
            if "notifyUrl" in m and not re.match(r"^https?://", m["notifyUrl"]):
                return self.bad(f"messages[{i}].notifyUrl must be a URL")
            if "sendAt" in m and not SEND_AT.match(m["sendAt"]):
                return self.bad(f"messages[{i}].sendAt must look like 2026-12-01T14:00:00.000+0000")
            if "sendAt" in m:  # Infobip: scheduling is possible up to 180 days in advance
                at = datetime.strptime(m["sendAt"], "%Y-%m-%dT%H:%M:%S.%f%z")
                if (at - datetime.now(UTC)).total_seconds() > 180 * 86400:
                    return self.bad(f"messages[{i}].sendAt is more than 180 days ahead")
            validity = m.get("validityPeriod")
            if "validityPeriod" in m and not (isinstance(validity, int) and 1 <= validity <= 2880):
                return self.bad(f"messages[{i}].validityPeriod must be 1..2880 minutes")
            dests = m.get("destinations")
            if not isinstance(dests, list) or not dests:
                return self.bad(f"messages[{i}].destinations is required")
            for d in dests:
                if set(d) - {"to", "messageId"} or not re.match(r"^\d{3,20}$", str(d.get("to", ""))):
                    return self.bad(f"messages[{i}].destinations: 'to' in international format without '+'")
                out.append((m, d))
        self.bodies.append(body)
        answer = []
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        for m, d in out:
            mid = d.get("messageId") or f"IB{len(self.accepted)}"
            refused = d["to"] in self.rejected
            answer.append({"messageId": mid, "status": REJECTED if refused else PENDING, "to": d["to"]})
            if not refused:
                self.accept(mid, d["to"], m["from"], m.get("callbackData"), now)
        return Answer(200, {"bulkId": body.get("bulkId", "BULK-1"), "messages": answer})

    def accept(self, mid: str, to: str, sender: str, callback_data: str | None, now: str) -> None:
        """Count the message accepted and queue its (delivered) report for `GET /sms/1/reports`."""
        self.accepted[mid] += 1
        self.pending_reports.append(
            {
                "bulkId": "BULK",
                "messageId": mid,
                "to": to,
                "from": sender,
                "sentAt": now,
                "doneAt": now,
                "smsCount": 1,
                "mccMnc": "20801",
                "callbackData": callback_data,
                "price": {"pricePerMessage": 0.07, "currency": "EUR"},
                "status": {
                    "groupId": 3,
                    "groupName": "DELIVERED",
                    "id": 5,
                    "name": "DELIVERED_TO_HANDSET",
                    "description": "Message delivered to handset",
                },
                "error": {
                    "groupId": 0,
                    "groupName": "OK",
                    "id": 0,
                    "name": "NO_ERROR",
                    "description": "No Error",
                    "permanent": False,
                },
            }
        )

    def send_v3(self, request: Request) -> Answer:
        """`POST /sms/3/messages` as documented: sender, destinations, content.text, options, webhooks."""
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self.bad("Content-Type must be application/json")
        try:
            body = request.json()
        except ValueError:
            return self.bad("body is not JSON")
        if not isinstance(body, dict) or set(body) - V3_TOP or set(body.get("options") or {}) - V3_REQUEST_OPTIONS:
            return self.bad("unknown fields in the request or its options")
        send_at = ((body.get("options") or {}).get("schedule") or {}).get("sendAt")
        if send_at is not None and not SEND_AT.match(str(send_at)):
            return self.bad("options.schedule.sendAt must look like 2026-12-01T14:00:00.000+0000")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.bad("messages must be a non-empty array")
        out = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or set(m) - V3_MESSAGE:
                return self.bad(f"messages[{i}]: unknown fields")
            if not isinstance(m.get("sender"), str) or not m["sender"]:
                return self.bad(f"messages[{i}].sender must be a string")
            content = m.get("content")
            if not isinstance(content, dict) or not isinstance(content.get("text"), str) or not content["text"]:
                return self.bad(f"messages[{i}].content.text is required")
            options = m.get("options") or {}
            if set(options) - V3_OPTIONS:
                return self.bad(f"messages[{i}].options: unknown fields")
            if "validityPeriod" in options:
                period = options["validityPeriod"]
                unit = V3_UNITS.get(period.get("timeUnit", "MINUTES")) if isinstance(period, dict) else None
                amount = period.get("amount") if isinstance(period, dict) else None
                if unit is None or not isinstance(amount, int) or not 0 < amount * unit <= 2880:
                    return self.bad(f"messages[{i}].options.validityPeriod: at most 48 hours")
            hooks = m.get("webhooks") or {}
            delivery = hooks.get("delivery") or {}
            if set(hooks) - V3_WEBHOOKS or set(delivery) - {"url", "intermediateReport", "notify"}:
                return self.bad(f"messages[{i}].webhooks: unknown fields")
            if "url" in delivery and not re.match(r"^https?://", str(delivery["url"])):
                return self.bad(f"messages[{i}].webhooks.delivery.url must be a URL")
            if hooks.get("contentType", "application/json") not in ("application/json", "application/xml"):
                return self.bad(f"messages[{i}].webhooks.contentType")
            dests = m.get("destinations")
            if not isinstance(dests, list) or not dests:
                return self.bad(f"messages[{i}].destinations is required")
            for d in dests:
                if set(d) - {"to", "messageId", "networkId"} or not re.match(r"^\d{3,20}$", str(d.get("to", ""))):
                    return self.bad(f"messages[{i}].destinations: 'to' in international format without '+'")
                out.append((m, d))
        self.bodies_v3.append(body)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        answer = []
        for m, d in out:
            mid = d.get("messageId") or f"IB{len(self.accepted)}"
            answer.append({"messageId": mid, "status": PENDING, "destination": d["to"], "details": {"messageCount": 1}})
            self.accept(mid, d["to"], m["sender"], (m.get("webhooks") or {}).get("callbackData"), now)
        return Answer(200, {"bulkId": "BULK-3", "messages": answer})

    def add_reply(self, sender: str, to: str, text: str) -> dict:
        """Queue a received message (MO) as `GET /sms/1/inbox/reports` documents it; returns it."""
        keyword, _, rest = text.strip().partition(" ")
        item = {
            "messageId": f"MO{len(self.pending_inbound) + 1:06d}",
            "from": sender,
            "to": to,
            "text": text,
            "cleanText": rest,
            "keyword": keyword.upper(),
            "receivedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "smsCount": 1,
            "price": {"pricePerMessage": 0, "currency": "EUR"},
            "callbackData": None,
        }
        with self._lock:
            self.pending_inbound.append(item)
        return item

    def reports(self, request: Request) -> Answer:
        """Each report (or received message) is handed out once, oldest first, at most `limit` (1..1000, default 50)."""
        allowed = (
            {"bulkId", "messageId", "limit", "applicationId", "entityId"}
            if request.path == "/sms/1/reports"
            else {"limit", "applicationId", "entityId", "campaignReferenceId"}
        )
        if set(request.query) - allowed:
            return self.bad(f"{request.path}: unknown query parameters {sorted(set(request.query) - allowed)}")
        raw = (request.query.get("limit") or ["50"])[0]
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            return self.bad(f"limit must be 1..1000, got {raw!r}")
        limit = int(raw)
        queue = self.pending_reports if request.path == "/sms/1/reports" else self.pending_inbound
        with self._lock:
            page, queue[:] = queue[:limit], queue[limit:]
            pending = len(queue)
        if request.path == "/sms/1/reports":
            return Answer(200, {"results": page})
        return Answer(200, {"results": page, "messageCount": len(page), "pendingMessageCount": pending})
