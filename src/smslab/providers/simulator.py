"""The simulator: an offline provider that behaves like a real network.

Deterministic for a seed: the same message always gets the same provider id, outcome,
latency and reply (every draw is a counter-based hash of seed and message id, vectorised
with numpy, so a million messages take seconds), so resubmitting a message can never produce a second, different
delivery (the simulator is idempotent on `message_id`, like a provider that accepts
client message ids). Each recipient's operator is the network that holds the number's range
(phonenumbers' carrier data mapped to an MCC/MNC of data/operators/mcc_mnc.csv by
`smslab.operators.holder_codes`), else drawn from the country's weighted list in `simulated_network.NETWORKS`.
Per operator (`simulated_network.OPERATORS`, else per country) it has delivery rates and latency medians — simulated
figures, not measurements of any real network — plus failure mixes, intermediate then final
reports, duplicated and out-of-order reports, and replies in the recipients' languages.
Everything it reports is written to the landing-zone journal in Infobip's webhook wire
format, so it goes through the same parser and loader as real traffic.

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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring as _js  # C-accelerated JSON string literal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from smslab import operators
from smslab.clock import utcnow
from smslab.providers import OutboundMessage, Provider, SubmitResult
from smslab.providers.draws import GOLDEN, Draws, _pick, _splitmix
from smslab.providers.simulated_network import (
    DEFAULT_LATENCY,
    DEFAULT_NETWORK,
    EXPIRED,
    FAILURES,
    NETWORKS,
    OPERATORS,
    REPLIES,
    REPLY_MIX,
)
from smslab.providers.simulator_wire import _NONE, OUTCOME_JSON, OUTCOMES, _concat, _esc, _infobip_times, _write_array
from smslab.receiving.journal import Journal


@dataclass
class SimulatorProvider(Provider):
    """The offline default provider (see module docstring).

    Columnar inside: `submit_frame` takes a DataFrame batch (FRAME_COLUMNS) and answers with
    one; `submit` wraps it for the list-of-messages interface.
    """

    name: str = "simulator"
    idempotent: bool = True
    throttled: bool = False
    batch_size: int = 100_000
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
        self._writer: ThreadPoolExecutor | None = None  # journal writes behind the next batch's work
        self._pending: list[Future] = []
        self._salt = _splitmix(np.array([int(self.seed) & (2**64 - 1)], dtype=np.uint64) + GOLDEN)[0]

    def provider_message_id(self, message_id: str) -> str:
        return f"SIM{self.seed}-{message_id}"

    preassigned_id = provider_message_id

    def preassigned_ids(self, message_ids: pd.Series) -> pd.Series:
        return f"SIM{self.seed}-" + message_ids.astype(str)

    def _keys(self, message_ids: np.ndarray) -> np.ndarray:
        """One well-mixed uint64 per message: a stable hash of its id, salted with the seed."""
        hashed = pd.util.hash_array(message_ids.astype(object), categorize=False)
        return _splitmix(hashed ^ self._salt)

    def submit(self, batch: list[OutboundMessage]) -> list[SubmitResult]:
        """Accept every message with a known region; write its reports and replies to the journal."""
        frame = pd.DataFrame(
            {
                "message_id": [m.message_id for m in batch],
                "campaign_id": [m.campaign_id for m in batch],
                "msisdn": [m.msisdn for m in batch],
                "region": [m.region for m in batch],
                "sender_id": [m.sender_id for m in batch],
                "segments": [m.segments for m in batch],
                "scheduled_at": pd.to_datetime([m.scheduled_at for m in batch]),
                "two_way": [m.two_way for m in batch],
                "opt_out_short_code": [m.opt_out_short_code for m in batch],
            }
        )
        out = self.submit_frame(frame)
        return [
            SubmitResult(
                r.message_id,
                accepted=bool(r.accepted),
                provider_message_id=r.provider_message_id,
                status=r.status,
                error_code=r.error_code,
                permanent=bool(r.permanent),
                price=None if pd.isna(r.price) else float(r.price),
                currency=r.currency,
                parts=None if pd.isna(r.parts) else int(r.parts),
            )
            for r in out.itertuples(index=False)
        ]

    def submit_frame(self, frame: pd.DataFrame, *, wait: bool = True) -> pd.DataFrame:
        """Columnar submit: one answer row per message (message_id, accepted, provider_message_id, status,
        error_code, permanent, price, currency, parts).

        `wait=False`: the reports and replies are written (and fsynced) by a background thread
        while the caller goes on; `flush()` waits until everything queued is on disk, and must be
        called before the answers are recorded anywhere."""
        n = len(frame)
        regions = frame["region"].astype(object).where(frame["region"].notna(), None).to_numpy()
        ok = np.array([r is not None and r == r and r != "" for r in regions], dtype=bool) if n else np.zeros(0, bool)
        segments = np.maximum(frame["segments"].fillna(1).to_numpy(dtype=np.int64), 1)
        region_list = sorted({r for r in regions[ok]})
        region_ix = np.full(n, -1)
        for i, r in enumerate(region_list):
            region_ix[regions == r] = i
        unit = np.array([NETWORKS.get(r, DEFAULT_NETWORK)[2] for r in region_list] + [0.0])
        price = np.round(unit[region_ix] * segments, 5)
        pids = self.preassigned_ids(frame["message_id"])
        out = pd.DataFrame(
            {
                "message_id": frame["message_id"].to_numpy(),
                "accepted": ok,
                "provider_message_id": pids.where(ok, None).to_numpy(),
                "status": np.where(ok, "submitted", "rejected"),
                "error_code": np.where(ok, _NONE, "REJECTED_DESTINATION"),
                "permanent": ~ok,
                "price": pd.Series(price, dtype="Float64").where(ok, pd.NA).array,
                "currency": np.where(ok, "EUR", _NONE),
                "parts": pd.Series(segments, dtype="Int64").where(ok, pd.NA).array,
            }
        )
        if ok.any():
            chosen = frame.loc[ok]
            groups = self._traffic(chosen, pids[ok].to_numpy(), region_ix[ok], region_list, segments[ok], price[ok])
            if wait:
                self._write(groups)
            else:
                self._writer = self._writer or ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
                self._pending.append(self._writer.submit(self._write, groups))  # one thread: order kept
        return out

    def flush(self) -> None:
        """Wait until every queued journal write is on disk (re-raising a failed one)."""
        pending, self._pending = self._pending, []
        for job in pending:
            job.result()

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None

    def _traffic(
        self,
        f: pd.DataFrame,
        pids: np.ndarray,
        region_ix: np.ndarray,
        region_list: list[str],
        segments: np.ndarray,
        price: np.ndarray,
    ) -> list[tuple[str, np.ndarray, pa.Array]]:
        """Journal lines: intermediate and final reports, duplicates, replies — as (kind, received, lines)."""
        n = len(f)
        message_ids = f["message_id"].to_numpy(dtype=object)
        draws = Draws(self._keys(message_ids))
        now = np.datetime64(utcnow().replace(tzinfo=None), "us")
        sent = f["scheduled_at"].to_numpy(dtype="datetime64[us]")
        sent = np.where(np.isnat(sent), now, sent)
        nets = [NETWORKS.get(r, DEFAULT_NETWORK) for r in region_list]
        # the range holder's network where known, else a weighted draw from the country's list
        regions = np.array(region_list + [None], dtype=object)[region_ix]
        preferred = {r: [o for o, _ in NETWORKS[r][1]] for r in region_list if r in NETWORKS}  # e.g. SFR: 20810
        _, mccmnc = operators.holder_codes(f["msisdn"].to_numpy(dtype=object), regions, preferred)
        u_op = draws.uniform(0)
        for i, net in enumerate(nets):
            mask = (region_ix == i) & pd.isna(mccmnc)
            mccmnc[mask] = np.asarray([o for o, _ in net[1]], dtype=object)[_pick(u_op[mask], [w for _, w in net[1]])]
        op_ix, op_codes = pd.factorize(mccmnc)  # per operator: its rate and latency, else the country's
        op_rate = np.array([OPERATORS[c][0] if c in OPERATORS else np.nan for c in op_codes] + [np.nan])[op_ix]
        rate = np.where(np.isnan(op_rate), np.array([net[0] for net in nets])[region_ix], op_rate)
        latency = np.array([OPERATORS.get(c, (0, DEFAULT_LATENCY))[1] for c in op_codes] + [DEFAULT_LATENCY])[op_ix]
        # intermediate report (70%, and always when no final one follows): PENDING_ENROUTE or
        # DELIVERED_TO_OPERATOR, 0.2-1.5 s after sending
        has_mid = draws.uniform(1) < 0.7
        mid_outcome = np.where(draws.uniform(2) < 0.5, 0, 1)
        mid_done = sent + (200 + draws.uniform(3) * 1300).astype("int64").astype("timedelta64[ms]")
        # final report: delivered with a lognormal latency, else one of FAILURES (some never report)
        delivered = draws.uniform(4) < rate
        deliver_seconds = 1.5 + draws.lognormal(5, latency, 1.0)
        failure = _pick(draws.uniform(7), [fl[0] for fl in FAILURES])
        medians = np.array([fl[3] for fl in FAILURES], dtype=float)[failure]
        fail_seconds = draws.lognormal(8, medians, 0.8)
        expired_ix = [i for i, fl in enumerate(FAILURES) if fl[1] == EXPIRED]
        fail_seconds = np.where(np.isin(failure, expired_ix), medians, fail_seconds)
        failure_outcome = np.array(
            [OUTCOMES.index((fl[1], fl[2])) if fl[1] is not None and fl[2] is not None else -1 for fl in FAILURES]
        )
        final_outcome = np.where(delivered, 2, failure_outcome[failure])
        final_seconds = np.where(delivered, deliver_seconds, fail_seconds)
        final_done = sent + (final_seconds * 1e6).astype("int64").astype("timedelta64[us]")
        has_final = final_outcome >= 0
        has_mid |= ~has_final  # no final report: the first one still came (it names the network)
        swapped = has_mid & has_final & (draws.uniform(10) < self.out_of_order_rate)
        duplicated = has_final & (draws.uniform(11) < self.duplicate_rate)

        idx = np.arange(n)
        parts = [
            (
                idx[has_mid],
                np.where(swapped, 1, 0)[has_mid],
                mid_outcome[has_mid],
                mid_done[has_mid].astype("datetime64[us]"),
            ),
            (idx[has_final], np.where(swapped, 0, 1)[has_final], final_outcome[has_final], final_done[has_final]),
            (idx[duplicated], np.full(int(duplicated.sum()), 2), final_outcome[duplicated], final_done[duplicated]),
        ]
        mi = np.concatenate([p[0] for p in parts])
        order = np.concatenate([p[1] for p in parts])
        outcome = np.concatenate([p[2] for p in parts])
        done = np.concatenate([p[3] for p in parts])
        sort = np.lexsort((order, mi))
        mi, outcome, done = mi[sort], outcome[sort], done[sort]
        out = []
        if len(mi):
            out.append(self._dlr_lines(f, pids, mccmnc, segments, price, mi, outcome, sent[mi], done))
        delivered_at = sent + (deliver_seconds * 1e6).astype("int64").astype("timedelta64[us]")
        replies = self._reply_lines(f, draws, np.flatnonzero(delivered), delivered_at)
        if replies is not None:
            out.append(replies)
        return out

    def _dlr_lines(
        self,
        f: pd.DataFrame,
        pids: np.ndarray,
        mccmnc: np.ndarray,
        segments: np.ndarray,
        price: np.ndarray,
        mi: np.ndarray,
        outcome: np.ndarray,
        sent: np.ndarray,
        done: np.ndarray,
    ) -> tuple[str, np.ndarray, pa.Array]:
        """Envelopes of Infobip report bodies, built with Arrow string kernels from pre-escaped pieces."""
        take = pa.array(mi)
        q = '\\"'  # an escaped quote inside the body string

        def column(values: Any) -> pa.Array:
            return pa.array(values, type=pa.string()).take(take)

        def literal(values: pd.Series) -> pa.Array:  # a JSON string literal, escaped once more for the envelope
            plain = pa.array(values.astype(str).to_numpy(dtype=object), pa.string())
            if pc.all(pc.match_substring_regex(plain, r"^[A-Za-z0-9 ._:+-]*$")).as_py():
                return _concat(q, plain.take(take), q)  # nothing to escape: the common case, vectorised
            codes, uniques = pd.factorize(values.astype(str))
            return pa.array([_esc(json.dumps(u, ensure_ascii=False)) for u in uniques], pa.string()).take(
                pa.array(codes[mi])
            )

        def numbers(values: np.ndarray) -> pa.Array:
            codes, uniques = pd.factorize(values)
            return pa.array([repr(float(u)) for u in uniques], pa.string()).take(pa.array(codes[mi]))

        mids = f["message_id"].astype(str)
        received: np.ndarray = done + np.timedelta64(50, "ms")  # datetime64 (numpy's stubs say timedelta64)
        ids = pa.array(np.arange(self._written, self._written + len(mi)).astype(str))
        self._written += len(mi)
        lines = _concat(
            f'{{"id": "{self.journal._token}-',
            ids,
            '", "provider": "infobip", "kind": "dlr", "received_at": "',
            pa.array(np.datetime_as_string(received, unit="us")),
            '", "content_type": "application/json", "body": "',
            f"{{{q}results{q}: [{{{q}bulkId{q}: ",
            literal(f["campaign_id"]),
            f", {q}messageId{q}: {q}",
            column(pids.astype(str)),
            f"{q}, {q}to{q}: {q}",
            column(f["msisdn"].astype(str).str.lstrip("+").to_numpy()),
            f"{q}, {q}from{q}: ",
            literal(f["sender_id"]),
            f", {q}sentAt{q}: {q}",
            _infobip_times(sent),
            f"{q}, {q}doneAt{q}: {q}",
            _infobip_times(done),
            f"{q}, {q}smsCount{q}: ",
            column(segments.astype(str)),
            f", {q}mccMnc{q}: {q}",
            column(mccmnc.astype(str)),
            f"{q}, {q}callbackData{q}: ",
            literal(mids),
            f", {q}price{q}: {{{q}pricePerMessage{q}: ",
            numbers(price),
            f", {q}currency{q}: {q}EUR{q}}}, ",
            pa.array([_esc(o) for o in OUTCOME_JSON]).take(pa.array(outcome)),
            '}]}"}\n',
        )
        return "dlr", received, lines

    def _reply_lines(
        self, f: pd.DataFrame, draws: Draws, delivered_ix: np.ndarray, delivered_at: np.ndarray
    ) -> tuple[str, np.ndarray, pa.Array] | None:
        if not len(delivered_ix):
            return None
        u_reply, u_intent, u_text = draws.uniform(12), draws.uniform(13), draws.uniform(14)
        delay = draws.lognormal(15, 600.0, 1.2)
        opt_delay = draws.lognormal(15, 900.0, 1.0)
        two_way = f["two_way"].fillna(False).to_numpy(dtype=bool)
        short = f["opt_out_short_code"].astype(object).where(f["opt_out_short_code"].notna(), None).to_numpy()
        replying = delivered_ix[
            (two_way[delivered_ix] & (u_reply[delivered_ix] < self.reply_rate))
            | (~two_way[delivered_ix] & (u_reply[delivered_ix] < self.opt_out_short_code_rate))
        ]
        intents = [i for i, _ in REPLY_MIX]
        picked = _pick(u_intent, [w for _, w in REPLY_MIX])
        keywords = (
            [k.upper() for k in self.keywords]
            + [k.lower() for k in self.keywords]
            + [k.capitalize() + "!" for k in self.keywords]
        )
        rows = f[["message_id", "msisdn", "region", "sender_id"]].to_numpy(dtype=object)
        seconds = np.where(two_way, delay, opt_delay)[replying]
        at = delivered_at[replying] + (seconds * 1e6).astype("int64").astype("timedelta64[us]")
        stamps = _infobip_times(at).to_pylist()
        bodies, received = [], []
        for k, i in enumerate(replying):
            message_id, msisdn, region, sender_id = rows[i]
            if two_way[i]:
                words = REPLIES.get(NETWORKS.get(region, DEFAULT_NETWORK)[3], REPLIES["en"])
                intent = intents[picked[i]]
                choices = keywords if intent == "keyword" and keywords else words.get(intent, words["other"])
                text, recipient = choices[int(u_text[i] * len(choices))], sender_id
            elif short[i]:
                text, recipient = "STOP", short[i]
            else:
                continue
            bodies.append(self._inbound_body(message_id, msisdn, str(recipient), text, stamps[k]))
            received.append(at[k])
        if not bodies:
            return None
        arrived: np.ndarray = np.array(received, dtype="datetime64[us]") + np.timedelta64(80, "ms")  # datetime64
        ids = pa.array(np.arange(self._written, self._written + len(bodies)).astype(str))
        self._written += len(bodies)
        lines = _concat(
            f'{{"id": "{self.journal._token}-',
            ids,
            '", "provider": "infobip", "kind": "inbound", "received_at": "',
            pa.array(np.datetime_as_string(arrived, unit="us")),
            '", "content_type": "application/json", "body": ',
            pa.array([_js(b) for b in bodies]),
            "}\n",
        )
        return "inbound", arrived, lines

    def _inbound_body(self, message_id: str, msisdn: str, recipient: str, text: str, stamp: str) -> str:
        mo_id = "MO" + hashlib.sha1(f"{self.seed}|{message_id}|{recipient}".encode()).hexdigest()[:18]
        first = text.strip().split()[0].upper() if text.strip() else ""
        rest = text.strip()[len(first) :].strip() if first else ""
        return json.dumps(
            {
                "results": [
                    {
                        "messageId": mo_id,
                        "from": str(msisdn).lstrip("+"),
                        "to": recipient,
                        "text": text,
                        "cleanText": rest,
                        "keyword": first,
                        "receivedAt": stamp,
                        "smsCount": 1,
                        "price": {"pricePerMessage": 0.0, "currency": "EUR"},
                        "callbackData": None,
                    }
                ],
                "messageCount": 1,
                "pendingMessageCount": 0,
            },
            ensure_ascii=False,
        )

    def _write(self, groups: list[tuple[str, np.ndarray, pa.Array]]) -> None:
        """Append each (kind, day) group to its journal file and fsync once (the layout `Journal` reads)."""
        for kind, received, lines in groups:
            days = received.astype("datetime64[D]")
            unique = np.unique(days)
            for day in unique:
                path = self.journal.path_for("infobip", kind, datetime.fromisoformat(str(day)))
                with open(path, "ab") as handle:  # (one day: the lines as they are, no copy)
                    _write_array(handle, lines if len(unique) == 1 else lines.filter(pa.array(days == day)))
                    handle.flush()
                    os.fsync(handle.fileno())
