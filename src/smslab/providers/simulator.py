"""The simulator: an offline provider that behaves like a real network.

Deterministic for a seed: the same message always gets the same provider id, outcome,
latency and reply (every draw is a counter-based hash of seed and message id, vectorised
with numpy, so a million messages take seconds), so resubmitting a message can never produce a second, different
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
import os
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring as _js  # C-accelerated JSON string literal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a well-mixed uint64 for every uint64 (vectorised, wraps on purpose)."""
    with np.errstate(over="ignore"):
        z = x.copy()
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


class Draws:
    """Independent uniforms in [0, 1) per message: draw k of message i depends only on (seed, id, k)."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys

    def uniform(self, k: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            x = self.keys + GOLDEN * np.uint64(k + 1)
        return (_splitmix(x) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def gauss(self, k: int) -> np.ndarray:
        u1, u2 = self.uniform(k), self.uniform(k + 1)
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)

    def lognormal(self, k: int, median_seconds: np.ndarray | float, sigma: float) -> np.ndarray:
        return np.asarray(median_seconds) * np.exp(self.gauss(k) * sigma)


def _pick(u: np.ndarray, weights: list[float]) -> np.ndarray:
    """Index of the weighted choice that each uniform falls into."""
    cum = np.cumsum(np.asarray(weights, dtype=float))
    return np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(weights) - 1)


def _infobip_times(moments: np.ndarray) -> pa.Array:
    """datetime64[us] → Infobip's '2026-12-01T14:00:03.120+0000' strings (vectorised)."""
    text = np.datetime_as_string(moments.astype("datetime64[ms]"), unit="ms")
    return pc.binary_join_element_wise(pa.array(text), "+0000", "")


def _status_json(status: tuple) -> str:
    group_id, group_name, status_id, status_name = status
    return json.dumps({"groupId": group_id, "groupName": group_name, "id": status_id, "name": status_name,
                       "description": status_name.replace("_", " ").capitalize()})


def _error_json(error: tuple) -> str:
    return json.dumps({"groupId": 0 if error[0] == 0 else 1, "groupName": "Ok" if error[0] == 0 else "HANDSET_ERRORS",
                       "id": error[0], "name": error[1], "description": error[1], "permanent": error[2]})


# every (status, error) a report can carry, pre-rendered once
OUTCOMES = [(PENDING_ENROUTE, NO_ERROR), (DELIVERED_TO_OPERATOR, NO_ERROR), (DELIVERED_TO_HANDSET, NO_ERROR)] + [
    (status, error) for _, status, error, _ in FAILURES if status is not None]
OUTCOME_JSON = [f'"status": {_status_json(s)}, "error": {_error_json(e)}' for s, e in OUTCOMES]


@dataclass
class SimulatorProvider(Provider):
    """The offline default provider (see module docstring)."""

    name: str = "simulator"
    idempotent: bool = True
    throttled: bool = False
    batch_size: int = 50_000
    seed: int = 0
    landing: Any = None
    keywords: list[str] = field(default_factory=list)
    reply_rate: float = 0.10
    opt_out_short_code_rate: float = 0.04
    duplicate_rate: float = 0.03
    out_of_order_rate: float = 0.05

    def __post_init__(self) -> None:
        self.journal = Journal(self.landing)
        self._written = 0

    def _digest(self, message_id: str) -> bytes:
        return hashlib.sha256(f"{self.seed}|{message_id}".encode()).digest()

    def provider_message_id(self, message_id: str) -> str:
        return "SIM" + self._digest(message_id).hex()[16:37].upper()

    preassigned_id = provider_message_id

    def submit(self, batch: list[OutboundMessage]) -> list[SubmitResult]:
        """Accept every message with a known region; write its reports and replies to the journal."""
        results: list[SubmitResult] = []
        ok = [m for m in batch if m.region]
        digests = [self._digest(m.message_id) for m in ok]
        pids = ["SIM" + d.hex()[16:37].upper() for d in digests]
        prices = {}
        for m, pid in zip(ok, pids):
            key = (m.region, m.segments)
            if key not in prices:
                prices[key] = round(NETWORKS.get(m.region, DEFAULT_NETWORK)[2] * max(m.segments, 1), 5)
        accepted = iter(zip(pids, ok))
        for msg in batch:
            if not msg.region:
                results.append(SubmitResult(msg.message_id, accepted=False, status="rejected",
                                            error_code="REJECTED_DESTINATION", permanent=True))
                continue
            pid, m = next(accepted)
            results.append(SubmitResult(msg.message_id, accepted=True, provider_message_id=pid, status="submitted",
                                        price=prices[(m.region, m.segments)], currency="EUR",
                                        parts=max(m.segments, 1)))
        if ok:
            keys = np.frombuffer(b"".join(d[:8] for d in digests), dtype=">u8").astype(np.uint64)
            self._write(self._traffic(ok, pids, keys, prices))
        return results

    def _traffic(self, msgs: list[OutboundMessage], pids: list[str], keys: np.ndarray,
                 prices: dict) -> dict[tuple[str, str], list[str]]:
        """Journal lines grouped by (kind, day): intermediate and final reports, duplicates, replies."""
        n = len(msgs)
        draws = Draws(keys)
        now = np.datetime64(utcnow().replace(tzinfo=None), "us")
        sent = np.array([np.datetime64(m.scheduled_at.replace(tzinfo=None), "us") if m.scheduled_at else now
                         for m in msgs], dtype="datetime64[us]")
        regions = [m.region for m in msgs]
        region_list = sorted(set(regions))
        region_ix = np.array([region_list.index(r) for r in regions]) if len(region_list) > 1 else np.zeros(n, int)
        nets = [NETWORKS.get(r, DEFAULT_NETWORK) for r in region_list]
        rate = np.array([net[0] for net in nets])[region_ix]
        # operator per message, drawn within its country's mix
        u_op = draws.uniform(0)
        mccmnc = np.empty(n, dtype=object)
        for i, net in enumerate(nets):
            mask = region_ix == i
            ops = [o for o, _ in net[1]]
            mccmnc[mask] = np.asarray(ops, dtype=object)[_pick(u_op[mask], [w for _, w in net[1]])]
        # intermediate report (70%): PENDING_ENROUTE or DELIVERED_TO_OPERATOR, 0.2-1.5 s after sending
        has_mid = draws.uniform(1) < 0.7
        mid_outcome = np.where(draws.uniform(2) < 0.5, 0, 1)
        mid_done = sent + (200 + draws.uniform(3) * 1300).astype("int64").astype("timedelta64[ms]")
        # final report: delivered with a lognormal latency, else one of FAILURES (some never report)
        delivered = draws.uniform(4) < rate
        deliver_seconds = 1.5 + draws.lognormal(5, 4.0, 1.0)
        failure = _pick(draws.uniform(7), [f[0] for f in FAILURES])
        medians = np.array([f[3] for f in FAILURES], dtype=float)[failure]
        fail_seconds = draws.lognormal(8, medians, 0.8)
        expired_ix = [i for i, f in enumerate(FAILURES) if f[1] == EXPIRED]
        fail_seconds = np.where(np.isin(failure, expired_ix), medians, fail_seconds)
        failure_outcome = np.array([OUTCOMES.index((f[1], f[2])) if f[1] is not None else -1 for f in FAILURES])
        final_outcome = np.where(delivered, 2, failure_outcome[failure])
        final_seconds = np.where(delivered, deliver_seconds, fail_seconds)
        final_done = sent + (final_seconds * 1e6).astype("int64").astype("timedelta64[us]")
        has_final = final_outcome >= 0
        swapped = has_mid & has_final & (draws.uniform(10) < self.out_of_order_rate)
        duplicated = has_final & (draws.uniform(11) < self.duplicate_rate)

        # one row per report: (message, order within the message, outcome, done)
        idx = np.arange(n)
        parts = [
            (idx[has_mid], np.where(swapped, 1, 0)[has_mid], mid_outcome[has_mid], mid_done[has_mid].astype("datetime64[us]")),
            (idx[has_final], np.where(swapped, 0, 1)[has_final], final_outcome[has_final], final_done[has_final]),
            (idx[duplicated], np.full(int(duplicated.sum()), 2), final_outcome[duplicated], final_done[duplicated]),
        ]
        mi = np.concatenate([p[0] for p in parts])
        order = np.concatenate([p[1] for p in parts])
        outcome = np.concatenate([p[2] for p in parts])
        done = np.concatenate([p[3] for p in parts])
        sort = np.lexsort((order, mi))
        mi, outcome, done = mi[sort], outcome[sort], done[sort]
        lines: dict[tuple[str, str], list[str]] = {}
        if len(mi):
            self._dlr_lines(msgs, pids, prices, mi, outcome, sent[mi], done, mccmnc, lines)
        replying = np.flatnonzero(delivered)
        if len(replying):
            self._reply_lines(msgs, draws, replying, sent + (deliver_seconds * 1e6).astype("int64").astype(
                "timedelta64[us]"), lines)
        return lines

    def _dlr_lines(self, msgs, pids, prices, mi, outcome, sent, done, mccmnc, lines) -> None:
        take = pa.array(mi)
        cid = {m.campaign_id: _js(m.campaign_id) for m in msgs}
        frm = {m.sender_id: _js(str(m.sender_id)) for m in msgs}
        head = pa.array([
            f'{{"results": [{{"bulkId": {cid[m.campaign_id]}, "messageId": "{pid}", "to": "{m.msisdn.lstrip("+")}", '
            f'"from": {frm[m.sender_id]}, ' for m, pid in zip(msgs, pids)]).take(take)
        tail = pa.array([
            f'"smsCount": {max(m.segments, 1)}, "mccMnc": "{mm}", "callbackData": "{m.message_id}", '
            f'"price": {{"pricePerMessage": {prices[(m.region, m.segments)]}, "currency": "EUR"}}, '
            for m, mm in zip(msgs, mccmnc)]).take(take)
        bodies = pc.binary_join_element_wise(
            head, '"sentAt": "', _infobip_times(sent), '", "doneAt": "', _infobip_times(done), '", ', tail,
            pa.array(OUTCOME_JSON).take(pa.array(outcome)), "}]}", "")
        received = done + np.timedelta64(50, "ms")
        self._envelopes("dlr", bodies, received, lines)

    def _envelopes(self, kind: str, bodies: pa.Array, received: np.ndarray, lines: dict) -> None:
        escaped = pc.replace_substring(pc.replace_substring(bodies, "\\", "\\\\"), '"', '\\"')
        stamps = np.datetime_as_string(received.astype("datetime64[us]"), unit="us")
        ids = pa.array([f"{self.journal._token}-{self._written + i}" for i in range(len(bodies))])
        self._written += len(bodies)
        text = pc.binary_join_element_wise(
            '{"id": "', ids, f'", "provider": "infobip", "kind": "{kind}", "received_at": "', pa.array(stamps),
            '", "content_type": "application/json", "body": "', escaped, '"}\n', "").to_pylist()
        days = np.array([s[:10] for s in stamps]) if len(stamps) else np.array([])
        for day in np.unique(days):
            chosen = np.flatnonzero(days == day)
            lines.setdefault((kind, str(day)), []).extend(text[i] for i in chosen)

    def _reply_lines(self, msgs, draws: Draws, delivered_ix: np.ndarray, delivered_at: np.ndarray, lines) -> None:
        u_reply, u_intent, u_text = draws.uniform(12), draws.uniform(13), draws.uniform(14)
        delay = draws.lognormal(15, 600.0, 1.2)
        opt_delay = draws.lognormal(15, 900.0, 1.0)
        intents = [i for i, _ in REPLY_MIX]
        picked = _pick(u_intent, [w for _, w in REPLY_MIX])
        keywords = ([k.upper() for k in self.keywords] + [k.lower() for k in self.keywords]
                    + [k.capitalize() + "!" for k in self.keywords])
        bodies, received = [], []
        for i in delivered_ix:
            msg = msgs[i]
            if msg.two_way and u_reply[i] < self.reply_rate:
                words = REPLIES.get(NETWORKS.get(msg.region, DEFAULT_NETWORK)[3], REPLIES["en"])
                intent = intents[picked[i]]
                choices = keywords if intent == "keyword" and keywords else words.get(intent, words["other"])
                text, recipient, seconds = choices[int(u_text[i] * len(choices))], msg.sender_id, delay[i]
            elif not msg.two_way and msg.opt_out_short_code and u_reply[i] < self.opt_out_short_code_rate:
                text, recipient, seconds = "STOP", msg.opt_out_short_code, opt_delay[i]
            else:
                continue
            at = delivered_at[i] + np.timedelta64(int(seconds * 1e6), "us")
            bodies.append(self._inbound_body(msg, str(recipient), text, at))
            received.append(at + np.timedelta64(80, "ms"))
        if bodies:
            self._envelopes("inbound", pa.array(bodies), np.array(received, dtype="datetime64[us]"), lines)

    def _inbound_body(self, msg: OutboundMessage, recipient: str, text: str, at: np.datetime64) -> str:
        mo_id = "MO" + hashlib.sha1(f"{self.seed}|{msg.message_id}|{recipient}".encode()).hexdigest()[:18]
        first = text.strip().split()[0].upper() if text.strip() else ""
        rest = text.strip()[len(first):].strip() if first else ""
        stamp = str(np.datetime_as_string(at.astype("datetime64[ms]"), unit="ms")) + "+0000"
        return json.dumps({"results": [{
            "messageId": mo_id, "from": msg.msisdn.lstrip("+"), "to": recipient, "text": text,
            "cleanText": rest, "keyword": first, "receivedAt": stamp, "smsCount": 1,
            "price": {"pricePerMessage": 0.0, "currency": "EUR"}, "callbackData": None,
        }], "messageCount": 1, "pendingMessageCount": 0}, ensure_ascii=False)

    def _write(self, lines: dict[tuple[str, str], list[str]]) -> None:
        """Append each group to its journal file and fsync once (the layout `Journal` reads and writes)."""
        for (kind, day), group in lines.items():
            path = self.journal.path_for("infobip", kind, datetime.fromisoformat(day))
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("".join(group))
                handle.flush()
                os.fsync(handle.fileno())
