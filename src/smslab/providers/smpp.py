"""SMPP 3.4: a transceiver session (smpplib) that submits, keeps the link alive and takes receipts and replies.

One bind_transceiver per provider instance (opened on the first batch), submit_sm with
`registered_delivery=1`, a window of outstanding requests, enquire_link when idle, unbind
on close. Long messages are split with an 8-bit-reference UDH (`05 00 03 ref total seq`,
esm_class 0x40): 153 GSM-7 septets or 67 UCS-2 units a part, never splitting an escape or
a surrogate pair; GSM-7 goes as data_coding 0 (one septet per octet), UCS-2 as
data_coding 8 (UTF-16BE). A deliver_sm (receipt or MO) is written to the landing-zone
journal, fsynced, *before* smpplib acknowledges it, as provider `smpp`, kind `dlr` or
`inbound`, body one JSON object in the receiving side's SMPP shape:

    {"short_message": "id:… stat:DELIVRD …", "esm_class": 4, "data_coding": 0,
     "source_addr": "33612345678", "destination_addr": "36180",
     "receipted_message_id": "…", "message_state": 2, "network_error_code": "030001",
     "received_at": "2026-12-01T14:00:05.120000"}

Answers: ESME_ROK → submitted; ESME_RTHROTTLED / ESME_RMSGQFUL → temporary (retried by the
sender); other errors → refused for good; no answer (the link died) → unknown, never resent.

Example:
    >>> from smslab.providers.smpp import split_parts
    >>> [len(p) for p in split_parts("x" * 200, "GSM-7", ref=7)[0]]
    [159, 53]
"""

from __future__ import annotations

import hashlib
import json
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import smpplib.client
import smpplib.consts as C
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp

from smslab import identity
from smslab.clock import utcnow
from smslab.errors import AuthenticationError, ProviderError, TransientError
from smslab.providers import OutboundMessage, Provider, SubmitResult, env
from smslab.receiving.journal import Journal

TEMPORARY = {C.SMPP_ESME_RTHROTTLED, C.SMPP_ESME_RMSGQFUL}
AUTH = {C.SMPP_ESME_RINVPASWD, C.SMPP_ESME_RINVSYSID, C.SMPP_ESME_RBINDFAIL}
GSM_SINGLE, GSM_PART = 160, 153  # septets
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units
TLV_NAMES = ("receipted_message_id", "message_state", "network_error_code", "user_message_reference", "message_payload")


_STATUS_NAMES = {v: k[len("SMPP_") :] for k, v in vars(C).items() if k.startswith("SMPP_ESME_") and isinstance(v, int)}


def status_label(code: int) -> str:
    """An SMPP command_status as people search for it.

    Example:
        >>> status_label(0x0D)
        'ESME_RBINDFAIL (0x0000000D, Bind Failed)'
    """
    name = _STATUS_NAMES.get(code, "unknown status")
    description = C.DESCRIPTIONS.get(code)
    return f"{name} (0x{code:08X}" + (f", {description})" if description else ")")


def _reason(exc: BaseException) -> str:
    """What went wrong on the socket: smpplib wraps it, the original is the exception's context."""
    cause = exc.__context__ if isinstance(exc, smpplib.exceptions.ConnectionError) and exc.__context__ else exc
    if isinstance(cause, TimeoutError):
        return "no answer (timed out)"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(cause) or (
        "connection closed by the SMSC"
        if isinstance(cause, smpplib.exceptions.ConnectionError)
        else type(cause).__name__
    )


def _units_gsm(text: str) -> list[bytes]:
    return [smpplib.gsm.gsm_encode(ch) for ch in text]  # 1 octet, or 2 for an escaped character


def _units_ucs2(text: str) -> list[bytes]:
    return [ch.encode("utf-16-be") for ch in text]  # 2 octets, or 4 for a surrogate pair


def split_parts(text: str, encoding: str, *, ref: int) -> tuple[list[bytes], int, int]:
    """(short_message of each part, data_coding, esm_class) for `text`; UDH-concatenated when long."""
    ucs2 = encoding.upper().startswith("UCS")
    if not ucs2:
        try:
            units = _units_gsm(text)
        except UnicodeError:
            ucs2 = True
    if ucs2:
        units = _units_ucs2(text)
    single, part = (UCS2_SINGLE, UCS2_PART) if ucs2 else (GSM_SINGLE, GSM_PART)
    size = 2 if ucs2 else 1
    total = sum(len(u) for u in units) // size
    coding = C.SMPP_ENCODING_ISO10646 if ucs2 else C.SMPP_ENCODING_DEFAULT
    if total <= single:
        return [b"".join(units)], coding, C.SMPP_MSGTYPE_DEFAULT
    chunks: list[bytes] = []
    current: list[bytes] = []
    used = 0
    for unit in units:
        width = len(unit) // size
        if used + width > part:
            chunks.append(b"".join(current))
            current, used = [], 0
        current.append(unit)
        used += width
    chunks.append(b"".join(current))
    if len(chunks) > 255:
        raise ValueError("message too long for SMPP concatenation (more than 255 parts)")
    header = bytes([5, 0, 3, ref & 0xFF, len(chunks)])
    return [header + bytes([i]) + c for i, c in enumerate(chunks, start=1)], coding, C.SMPP_GSMFEAT_UDHI


def _text(value: Any) -> Any:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _decode_short(pdu: Any) -> str:
    raw = getattr(pdu, "short_message", b"") or getattr(pdu, "message_payload", b"") or b""
    if not isinstance(raw, bytes):
        return str(raw)
    if int(getattr(pdu, "esm_class", 0) or 0) & C.SMPP_GSMFEAT_UDHI and raw:
        raw = raw[raw[0] + 1 :]
    coding = int(getattr(pdu, "data_coding", 0) or 0)
    if coding == C.SMPP_ENCODING_ISO10646:
        return raw.decode("utf-16-be", "replace")
    if coding == C.SMPP_ENCODING_DEFAULT:
        table = smpplib.gsm.GSM_CHARACTER_TABLE
        out, escape = [], False
        for b in raw:
            if b == 0x1B:
                escape = True
                continue
            out.append(table[b + 0x80] if escape and b + 0x80 < len(table) else table[b] if b < 0x80 else "?")
            escape = False
        return "".join(out)
    return raw.decode("latin-1")


def source_address(sender_type: str, sender_id: str) -> tuple[int, int, str]:
    """(TON, NPI, source_addr) from the sender's canonical form (`smslab.identity`): an E.164
    number goes out international/ISDN without its `+`, a short code network-specific, and only
    a name as alphanumeric.

    Example:
        >>> source_address("long_code", "+447700900123")[2], source_address("short_code", "36180")[2]
        ('447700900123', '36180')
    """
    stored = identity.address(sender_id, None, sender_type)
    if stored.startswith("+"):
        return C.SMPP_TON_INTL, C.SMPP_NPI_ISDN, stored[1:]
    if stored.isdigit():
        return C.SMPP_TON_NWSPEC, C.SMPP_NPI_UNK, stored
    return C.SMPP_TON_ALNUM, C.SMPP_NPI_UNK, stored


@dataclass
class SmppProvider(Provider):
    """SMPP 3.4 transceiver; settings from SMPP_HOST, SMPP_PORT, SMPP_SYSTEM_ID and SMPP_PASSWORD."""

    name: str = "smpp"
    idempotent: bool = False  # SMPP has no idempotency key
    batch_size: int = 50
    host: str | None = None
    port: int | None = None
    system_id: str | None = None
    password: str | None = None
    system_type: str = ""
    window: int = 10  # submit_sm outstanding before we wait for answers
    timeout: float = 10.0  # seconds without any answer before the link counts as dead
    enquire_every: float = 30.0  # enquire_link after this many idle seconds
    landing: Any = None
    bind: str = "transceiver"  # or "receiver" (a receiver-only session: `receive`)
    received: int = 0
    _client: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.host = self.host or env("SMPP_HOST")
        self.port = int(self.port or env("SMPP_PORT"))
        self.system_id = self.system_id or env("SMPP_SYSTEM_ID")
        self._password = self.password or env("SMPP_PASSWORD")
        self.password = None  # never in repr() or logs
        for variable, value, longest in (
            ("SMPP_SYSTEM_ID", self.system_id, 15),
            ("SMPP_PASSWORD", self._password, 8),
            ("system_type", self.system_type, 12),
        ):
            if len(value) > longest:  # smpplib would silently cut it, and the bind would fail for no visible reason
                raise ProviderError(f"{variable} has {len(value)} characters; SMPP 3.4 allows at most {longest}")
        self.journal = Journal(self.landing)
        self._answers: dict[int, tuple[int, str | None]] = {}
        self._last_io = 0.0

    # --- session ------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self._client is not None and self._client.state in (
            C.SMPP_CLIENT_STATE_BOUND_TRX,
            C.SMPP_CLIENT_STATE_BOUND_RX,
        ):
            return self._client
        if self.bind not in ("transceiver", "receiver"):
            raise ProviderError(f"SMPP bind {self.bind!r}: expected transceiver or receiver")
        client = smpplib.client.Client(
            self.host, self.port, timeout=self.timeout, allow_unknown_opt_params=True, logger_name="smslab.smpp"
        )
        client.set_message_received_handler(self._on_deliver)
        client.set_message_sent_handler(self._on_answer)
        client.set_error_pdu_handler(lambda pdu: None)  # an error status is an answer, handled by _on_answer
        where = f"{self.host}:{self.port}"
        try:
            client.connect()
        except smpplib.exceptions.ConnectionError as exc:
            if client._socket is not None:  # never connected: nothing to unbind or warn about
                client._socket.close()
                client._socket = None
            raise TransientError(f"SMPP: cannot connect to {where}: {_reason(exc)}", not_sent=True) from None
        try:
            getattr(client, f"bind_{self.bind}")(
                system_id=self.system_id, password=self._password, system_type=self.system_type
            )
        except smpplib.exceptions.PDUError as exc:
            client.disconnect()
            code = exc.args[1] if len(exc.args) > 1 else None
            if code is None:  # smpplib could not read the answer at all
                raise TransientError(
                    f"SMPP bind_{self.bind} to {where} failed: {exc.args[0] if exc.args else exc}", not_sent=True
                ) from None
            if code in AUTH:
                raise AuthenticationError(
                    f"SMPP bind_{self.bind} to {where} refused: {status_label(code)}; "
                    "check SMPP_SYSTEM_ID and SMPP_PASSWORD"
                ) from None
            raise TransientError(
                f"SMPP bind_{self.bind} to {where} refused: {status_label(code)}", not_sent=True
            ) from None
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.UnknownCommandError, OSError) as exc:
            client.disconnect()  # the SMSC hung up, stayed silent for `timeout`, or answered nonsense
            raise TransientError(
                f"SMPP bind_{self.bind} to {where}: no bind response ({_reason(exc)})", not_sent=True
            ) from None
        self._client = client
        self._last_io = time.monotonic()
        return client

    def _on_answer(self, pdu: Any, **_: Any) -> None:
        self._answers[pdu.sequence] = (int(pdu.status or 0), _text(getattr(pdu, "message_id", None)))

    def _on_deliver(self, pdu: Any, **_: Any) -> int:
        """Journal one deliver_sm (fsynced) before smpplib acknowledges it."""
        esm = int(getattr(pdu, "esm_class", 0) or 0)
        record: dict[str, Any] = {
            "short_message": _decode_short(pdu),
            "esm_class": esm,
            "data_coding": int(getattr(pdu, "data_coding", 0) or 0),
            "source_addr": _text(getattr(pdu, "source_addr", None)),
            "destination_addr": _text(getattr(pdu, "destination_addr", None)),
            "received_at": utcnow().isoformat(),
        }
        for name in TLV_NAMES[:-1]:
            value = getattr(pdu, name, None)
            if value is not None:
                hex_code = name == "network_error_code" and isinstance(value, bytes)
                record[name] = value.hex() if hex_code else _text(value)
        kind = "dlr" if esm & 0x3C == 0x04 or "receipted_message_id" in record else "inbound"
        self.journal.append_many(
            [
                {
                    "provider": "smpp",
                    "kind": kind,
                    "content_type": "application/json",
                    "body": json.dumps(record, ensure_ascii=False),
                }
            ]
        )
        self.received += 1
        return C.SMPP_ESME_ROK

    def _read(self, wait: float) -> bool:
        """Handle one PDU if one arrives within `wait` seconds."""
        client = self._client
        ready, _, _ = select.select([client._socket], [], [], wait)
        if not ready:
            return False
        client.read_once(auto_send_enquire_link=False)
        self._last_io = time.monotonic()
        return True

    def ping(self) -> bool:
        """enquire_link → True once the SMSC's enquire_link_resp has come back."""
        return self._request("enquire_link")

    def _request(self, command: str) -> bool:
        """Send `command` and wait for its response, handling whatever else arrives meanwhile."""
        client = self._connect() if command == "enquire_link" else self._client
        pdu = smpplib.smpp.make_pdu(command, client=client)
        client.send_pdu(pdu)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([client._socket], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            answer = client.read_pdu()
            if answer.command == f"{command}_resp" and answer.sequence == pdu.sequence:
                self._last_io = time.monotonic()
                return True
            self._dispatch(answer)
        return False

    def _dispatch(self, pdu: Any) -> None:
        client = self._client
        if pdu.command == "submit_sm_resp":
            self._on_answer(pdu)
        elif pdu.command == "deliver_sm":
            client._message_received(pdu)
        elif pdu.command == "enquire_link":
            client._enquire_link_received(pdu)

    def listen(self, seconds: float, until: Callable[[], bool] | None = None) -> int:
        """Take receipts and replies for up to `seconds` (or until `until()`); returns how many arrived."""
        self._connect()
        before = self.received
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (until and until()):
            self._read(min(0.2, max(0.0, deadline - time.monotonic())))
        return self.received - before

    def receive(
        self,
        *,
        seconds: float | None = None,
        stop: Callable[[], bool] | None = None,
        backoff: tuple[float, float] = (1.0, 60.0),
        log: Callable[[str], None] | None = None,
    ) -> int:
        """Stay bound and journal every deliver_sm (fsynced before it is acknowledged) until
        `stop()` or `seconds` have passed; returns how many arrived. A lost or refused link is
        bound again after a back-off doubling from `backoff[0]` to `backoff[1]` seconds (reset
        by a good bind); an idle link is kept alive with enquire_link. Credentials refused stop
        it (AuthenticationError). `smslab smpp-receive` runs this."""
        say = log or (lambda line: None)
        end = None if seconds is None else time.monotonic() + seconds
        delay, total = backoff[0], 0

        def done() -> bool:
            return bool((stop and stop()) or (end is not None and time.monotonic() >= end))

        while not done():
            try:
                self._connect()
                say(f"bound as {self.bind} to {self.host}:{self.port}")
                delay = backoff[0]
                while not done():
                    if time.monotonic() - self._last_io > self.enquire_every and not self.ping():
                        raise TransientError("SMPP link silent (no enquire_link_resp)", not_sent=True)
                    before = self.received
                    self._read(0.2)
                    total += self.received - before
            except AuthenticationError:
                raise
            except (TransientError, OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as exc:
                self._drop()
                say(f"{exc}; binding again in {delay:g} s")
                pause_until = time.monotonic() + delay
                while not done() and time.monotonic() < pause_until:
                    time.sleep(min(0.2, max(0.0, pause_until - time.monotonic())))
                delay = min(delay * 2, backoff[1])
        return total

    # --- submission ---------------------------------------------------------------------
    def submit(self, batch: list[OutboundMessage]) -> list[SubmitResult]:
        client = self._connect()
        if time.monotonic() - self._last_io > self.enquire_every and not self.ping():
            raise TransientError("SMPP link silent (no enquire_link_resp)", not_sent=True)
        parts_of: dict[str, list[int]] = {}
        sent_any: set[str] = set()
        dead = False
        for m in batch:
            ref = hashlib.sha1(m.message_id.encode()).digest()[0]  # the same message always gets the same reference
            parts, coding, esm = split_parts(m.text, m.encoding, ref=ref)
            ton, npi, source = source_address(m.sender_type, m.sender_id)
            seqs = []
            for part in parts:
                while len(self._outstanding(parts_of)) >= self.window and not dead:
                    dead = not self._await_any()
                if dead:
                    break
                try:
                    pdu = client.send_message(
                        source_addr_ton=ton,
                        source_addr_npi=npi,
                        source_addr=source,
                        dest_addr_ton=C.SMPP_TON_INTL,
                        dest_addr_npi=C.SMPP_NPI_ISDN,
                        destination_addr=m.msisdn.lstrip("+"),
                        short_message=part,
                        data_coding=coding,
                        esm_class=esm,
                        registered_delivery=C.SMPP_SMSC_DELIVERY_RECEIPT_BOTH,
                    )
                except smpplib.exceptions.ConnectionError:
                    dead = True
                    break
                seqs.append(pdu.sequence)
                sent_any.add(m.message_id)
            parts_of[m.message_id] = seqs
            if dead:
                break
        while not dead and self._outstanding(parts_of):
            dead = not self._await_any()
        if dead:
            self._drop()
        return [self._result(m, parts_of.get(m.message_id, []), m.message_id in sent_any) for m in batch]

    def _outstanding(self, parts_of: dict[str, list[int]]) -> list[int]:
        return [s for seqs in parts_of.values() for s in seqs if s not in self._answers]

    def _await_any(self) -> bool:
        """Read until one more PDU arrives; False when the link is dead or silent for `timeout`."""
        try:
            return self._read(self.timeout)
        except (smpplib.exceptions.ConnectionError, OSError):
            return False

    def _result(self, m: OutboundMessage, seqs: list[int], sent: bool) -> SubmitResult:
        if not sent:
            return SubmitResult(
                m.message_id,
                accepted=False,
                status="queued",
                temporary=True,
                error_code="SMPP link lost before this message was sent",
            )
        answers = [self._answers.pop(s, None) for s in seqs]
        if any(a is None for a in answers):
            return SubmitResult(
                m.message_id,
                accepted=False,
                status="unknown",
                error_code="SMPP link lost before the SMSC answered: outcome unknown",
            )
        known = [a for a in answers if a is not None]  # all of them (checked above)
        codes = [a[0] for a in known]
        if all(c == C.SMPP_ESME_ROK for c in codes):
            return SubmitResult(
                m.message_id, accepted=True, provider_message_id=known[0][1], status="submitted", parts=len(seqs)
            )
        error = next(c for c in codes if c != C.SMPP_ESME_ROK)
        name = C.DESCRIPTIONS.get(error, "") if hasattr(C, "DESCRIPTIONS") else ""
        label = f"0x{error:08X} {name}".strip()
        if any(c == C.SMPP_ESME_ROK for c in codes):  # some parts went, some did not
            return SubmitResult(m.message_id, accepted=False, status="unknown", error_code=f"partly sent: {label}")
        if error in TEMPORARY:
            return SubmitResult(m.message_id, accepted=False, status="queued", temporary=True, error_code=label)
        return SubmitResult(m.message_id, accepted=False, status="rejected", permanent=True, error_code=label)

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            except Exception:  # noqa: BLE001 - the link is already gone
                pass
        self._client = None

    def close(self) -> None:
        """unbind (taking any receipt that arrives meanwhile), then disconnect."""
        if self._client is None:
            return
        try:
            self._request("unbind")
        except Exception:  # noqa: BLE001 - closing a link that may be half dead
            pass
        self._drop()
