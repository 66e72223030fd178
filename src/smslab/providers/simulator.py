"""The simulator: an offline provider that behaves like a real network.

Deterministic for a seed: the same message always gets the same provider id, outcome,
latency and reply, so resubmitting a message can never produce a second, different
delivery (the simulator is idempotent on `message_id`, like a provider that accepts
client message ids). Per country it has delivery and failure rates, operators,
latency distributions, intermediate then final reports, duplicated and out-of-order
reports, and replies in the recipients' languages. Everything it reports is written to
the landing-zone journal in Infobip's webhook wire format, so it goes through the same
parser and loader as real traffic.

Example:
    >>> import tempfile
    >>> from smslab.providers.simulator import SimulatorProvider
    >>> sim = SimulatorProvider(seed=1, landing=tempfile.mkdtemp())
    >>> sim.name
    'simulator'
"""
from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from smslab.providers import OutboundMessage, Provider, SubmitResult
from smslab.receiving.journal import Journal
from smslab.store import utcnow

# country -> (delivery rate, [(mccMnc, weight)], simulated price per segment in EUR, language)
NETWORKS: dict[str, tuple[float, list[tuple[str, float]], float, str]] = {
    "FR": (0.95, [("20801", 0.4), ("20810", 0.25), ("20815", 0.2), ("20820", 0.15)], 0.072, "fr"),
    "US": (0.92, [("310260", 0.35), ("311480", 0.4), ("310410", 0.25)], 0.0108, "en"),
    "GB": (0.96, [("23410", 0.3), ("23415", 0.2), ("23420", 0.15), ("23430", 0.35)], 0.041, "en"),
    "DE": (0.95, [("26201", 0.4), ("26202", 0.3), ("26203", 0.3)], 0.085, "de"),
    "KE": (0.88, [("63902", 0.7), ("63903", 0.3)], 0.018, "sw"),
    "BR": (0.84, [("72405", 0.35), ("72406", 0.3), ("72402", 0.35)], 0.023, "pt"),
    "ES": (0.94, [("21401", 0.3), ("21403", 0.3), ("21407", 0.4)], 0.068, "es"),
    "IN": (0.80, [("40410", 0.4), ("40445", 0.3), ("405854", 0.3)], 0.0045, "hi"),
}
DEFAULT_NETWORK = (0.90, [("00000", 1.0)], 0.05, "en")

# Infobip status (groupId, groupName, id, name) and error (id, name, permanent)
PENDING_ENROUTE = (1, "PENDING", 7, "PENDING_ENROUTE")
DELIVERED_TO_OPERATOR = (3, "DELIVERED", 2, "DELIVERED_TO_OPERATOR")
DELIVERED_TO_HANDSET = (3, "DELIVERED", 5, "DELIVERED_TO_HANDSET")
UNDELIVERABLE = (2, "UNDELIVERABLE", 9, "UNDELIVERABLE_NOT_DELIVERED")
EXPIRED = (4, "EXPIRED", 15, "EXPIRED_EXPIRED")
REJECTED = (5, "REJECTED", 6, "REJECTED_NETWORK")
NO_ERROR = (0, "NO_ERROR", False)
FAILURES = [  # (share of failures, final status, error, latency median seconds)
    (0.30, UNDELIVERABLE, (1, "EC_UNKNOWN_SUBSCRIBER", True), 20),
    (0.15, UNDELIVERABLE, (27, "EC_ABSENT_SUBSCRIBER", False), 60),
    (0.25, EXPIRED, (27, "EC_ABSENT_SUBSCRIBER", False), 48 * 3600),
    (0.15, REJECTED, (573, "EC_SC_BLOCKED_BY_END_USER", True), 2),
    (0.15, None, None, 0),  # the operator never sends a final report: "sent" is the last word
]

REPLIES: dict[str, dict[str, list[str]]] = {
    "fr": {"opt_out": ["STOP", "Stop", "ARRET", "stop."], "help": ["AIDE", "HELP"],
           "opt_in": ["START"], "other": ["C'est valable en magasin ?", "Merci !", "Arrêtez de m'écrire svp"]},
    "en": {"opt_out": ["STOP", "Stop", "UNSUBSCRIBE", "stop "], "help": ["HELP", "help"],
           "opt_in": ["START", "UNSTOP"], "other": ["Is this valid in store?", "Thanks!", "please stop texting me"]},
    "de": {"opt_out": ["STOP", "Stop", "STOPP"], "help": ["HILFE", "HELP"], "opt_in": ["START"],
           "other": ["Gilt das auch online?", "Danke"]},
    "es": {"opt_out": ["BAJA", "STOP", "baja"], "help": ["AYUDA"], "opt_in": ["ALTA", "START"],
           "other": ["¿Vale en tienda?", "Gracias"]},
    "pt": {"opt_out": ["PARAR", "SAIR", "STOP"], "help": ["AJUDA"], "opt_in": ["START"],
           "other": ["Vale na loja?", "Obrigado"]},
    "sw": {"opt_out": ["STOP"], "help": ["HELP"], "opt_in": ["START"], "other": ["Asante"]},
    "hi": {"opt_out": ["STOP"], "help": ["HELP"], "opt_in": ["START"], "other": ["Thanks"]},
}
REPLY_MIX = [("opt_out", 0.30), ("help", 0.07), ("keyword", 0.38), ("opt_in", 0.02), ("other", 0.23)]


def _infobip_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _lognormal(rng: random.Random, median_seconds: float, sigma: float) -> timedelta:
    return timedelta(seconds=median_seconds * math.exp(rng.gauss(0, sigma)))


@dataclass
class SimulatorProvider(Provider):
    """The offline default provider (see module docstring)."""

    name: str = "simulator"
    idempotent: bool = True
    seed: int = 0
    landing: Any = None
    keywords: list[str] = field(default_factory=list)
    reply_rate: float = 0.10
    opt_out_short_code_rate: float = 0.04
    duplicate_rate: float = 0.03
    out_of_order_rate: float = 0.05

    def __post_init__(self) -> None:
        self.journal = Journal(self.landing)

    def _rng(self, message_id: str) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}|{message_id}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def provider_message_id(self, message_id: str) -> str:
        return "SIM" + hashlib.sha1(f"{self.seed}|{message_id}".encode()).hexdigest()[:21].upper()

    def submit(self, batch: list[OutboundMessage]) -> list[SubmitResult]:
        """Accept every message with a known region; write its reports and replies to the journal."""
        results, envelopes = [], []
        now = utcnow()
        for msg in batch:
            if not msg.region:
                results.append(SubmitResult(msg.message_id, accepted=False, status="rejected",
                                            error_code="REJECTED_DESTINATION", permanent=True))
                continue
            rate, operators, price, language = NETWORKS.get(msg.region, DEFAULT_NETWORK)
            pid = self.provider_message_id(msg.message_id)
            results.append(SubmitResult(msg.message_id, accepted=True, provider_message_id=pid,
                                        status="submitted", price=round(price * max(msg.segments, 1), 5),
                                        currency="EUR"))
            envelopes.extend(self._traffic(msg, pid, msg.scheduled_at or now, rate, operators, price, language))
        if envelopes:
            self.journal.append_many(envelopes)
        return results

    def _report(self, msg: OutboundMessage, pid: str, sent: datetime, done: datetime, mccmnc: str,
                price: float, status: tuple, error: tuple) -> dict:
        group_id, group_name, status_id, status_name = status
        body = {"results": [{
            "bulkId": msg.campaign_id, "messageId": pid, "to": msg.msisdn.lstrip("+"), "from": msg.sender_id,
            "sentAt": _infobip_time(sent), "doneAt": _infobip_time(done), "smsCount": max(msg.segments, 1),
            "mccMnc": mccmnc, "callbackData": msg.message_id,
            "price": {"pricePerMessage": round(price * max(msg.segments, 1), 5), "currency": "EUR"},
            "status": {"groupId": group_id, "groupName": group_name, "id": status_id, "name": status_name,
                       "description": status_name.replace("_", " ").capitalize()},
            "error": {"groupId": 0 if error[0] == 0 else 1, "groupName": "Ok" if error[0] == 0 else "HANDSET_ERRORS",
                      "id": error[0], "name": error[1], "description": error[1], "permanent": error[2]},
        }]}
        received = done + timedelta(milliseconds=50)
        return {"provider": "infobip", "kind": "dlr", "body": json.dumps(body), "received_at": received}

    def _traffic(self, msg: OutboundMessage, pid: str, sent: datetime, rate: float,
                 operators: list[tuple[str, float]], price: float, language: str) -> list[dict]:
        rng = self._rng(msg.message_id)
        mccmnc = rng.choices([o for o, _ in operators], [w for _, w in operators])[0]
        out: list[dict] = []
        intermediate = None
        if rng.random() < 0.7:
            status = PENDING_ENROUTE if rng.random() < 0.5 else DELIVERED_TO_OPERATOR
            intermediate = self._report(msg, pid, sent, sent + timedelta(milliseconds=rng.randrange(200, 1500)),
                                        mccmnc, price, status, NO_ERROR)
        final = None
        delivered_at = None
        if rng.random() < rate:
            delivered_at = sent + timedelta(seconds=1.5) + _lognormal(rng, 4.0, 1.0)
            final = self._report(msg, pid, sent, delivered_at, mccmnc, price, DELIVERED_TO_HANDSET, NO_ERROR)
        else:
            pick, acc = rng.random(), 0.0
            for share, status, error, median in FAILURES:
                acc += share
                if pick <= acc:
                    break
            if status is not None:
                done = sent + (timedelta(seconds=median) if status == EXPIRED else _lognormal(rng, median, 0.8))
                final = self._report(msg, pid, sent, done, mccmnc, price, status, error)
        ordered = [r for r in (intermediate, final) if r is not None]
        if intermediate and final and rng.random() < self.out_of_order_rate:
            ordered.reverse()  # the final report reaches us first
        out.extend(ordered)
        if final and rng.random() < self.duplicate_rate:
            out.append(dict(final))  # the provider retried the webhook
        if delivered_at is not None:
            out.extend(self._replies(msg, rng, delivered_at, language))
        return out

    def _replies(self, msg: OutboundMessage, rng: random.Random, delivered_at: datetime, language: str) -> list[dict]:
        words = REPLIES.get(language, REPLIES["en"])
        if msg.two_way and rng.random() < self.reply_rate:
            pick, acc = rng.random(), 0.0
            for intent, share in REPLY_MIX:
                acc += share
                if pick <= acc:
                    break
            if intent == "keyword" and self.keywords:
                text = rng.choice([k.upper() for k in self.keywords] + [k.lower() for k in self.keywords]
                                  + [k.capitalize() + "!" for k in self.keywords])
            else:
                text = rng.choice(words.get(intent, words["other"]))
            return [self._inbound(msg, msg.sender_id, text, delivered_at + _lognormal(rng, 600, 1.2))]
        if not msg.two_way and msg.opt_out_short_code and rng.random() < self.opt_out_short_code_rate:
            return [self._inbound(msg, msg.opt_out_short_code, "STOP", delivered_at + _lognormal(rng, 900, 1.0))]
        return []

    def _inbound(self, msg: OutboundMessage, recipient: str, text: str, at: datetime) -> dict:
        mo_id = "MO" + hashlib.sha1(f"{self.seed}|{msg.message_id}|{recipient}".encode()).hexdigest()[:18]
        first = text.strip().split()[0].upper() if text.strip() else ""
        rest = text.strip()[len(first):].strip() if first else ""
        body = {"results": [{
            "messageId": mo_id, "from": msg.msisdn.lstrip("+"), "to": recipient, "text": text,
            "cleanText": rest, "keyword": first, "receivedAt": _infobip_time(at), "smsCount": 1,
            "price": {"pricePerMessage": 0.0, "currency": "EUR"}, "callbackData": None,
        }], "messageCount": 1, "pendingMessageCount": 0}
        return {"provider": "infobip", "kind": "inbound", "body": json.dumps(body, ensure_ascii=False),
                "received_at": at + timedelta(milliseconds=80)}
