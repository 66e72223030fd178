"""A test SMSC on 127.0.0.1 built on smpp34's server (a package the project did not write).

It accepts binds, answers every submit_sm (or rejects the next ones with a scripted status,
e.g. ESME_RTHROTTLED), sends a delivery receipt (esm_class 0x04, Appendix B text plus the
receipted_message_id / message_state TLVs) for every part that asked for one, and an MO
message ("STOP") from each number in `replies_from`. It runs its own event loop in a thread
and stops by itself after `lifetime` seconds.

Receiver binds go through a small relay in front of smpp34's server: smpp34 1.5.0 accepts a
deliver_sm_resp only from a transmitter or transceiver session (its server's state table has TX
where RX belongs), so a receiver's correct acknowledgement is answered with generic_nack
ESME_RINVCMDID, its deliver_sm call fails and no further receipt is sent. The relay binds such a
session as a transceiver upstream, hands the client a bind_receiver_resp, and refuses a
submit_sm on it with ESME_RINVBNDSTS as an SMSC must. Every bind command is recorded (`bind_commands`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter

import smpp34


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_RESP = 0x80000000
_BIND_RX, _BIND_TX, _BIND_TRX, _SUBMIT_SM = 0x00000001, 0x00000002, 0x00000009, 0x00000004
_BINDS = {_BIND_RX: "bind_receiver", _BIND_TX: "bind_transmitter", _BIND_TRX: "bind_transceiver"}
_ESME_RINVBNDSTS = 0x04


class TestSmsc:
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        lifetime: float = 60.0,
        replies_from: set[str] | None = None,
        *,
        hold_receipts: bool = False,
        hex_ids: bool = False,
    ) -> None:
        # hold_receipts: receipts wait until a later session binds (the sender has gone), then go
        # to it; hex_ids: submit_sm_resp gives a hex id and the receipt reports it in decimal
        self.hold_receipts, self.hex_ids = hold_receipts, hex_ids
        self.pending: list[tuple] = []
        self.port = free_port()
        self.lifetime = lifetime
        self.replies_from = replies_from or set()
        self.submits: list[dict] = []
        self.accepted: Counter[str] = Counter()  # destination -> submit_sm accepted (parts)
        self.script: list[int] = []  # statuses to reject the next submit_sm with
        self.binds = 0
        self.unbinds = 0
        self.delivered = 0
        self.bind_commands: list[str] = []  # bind_transceiver / bind_receiver / … as the client sent it
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._closing = False

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: int) -> None:
        """One client connection to smpp34's server, PDU by PDU (see the module docstring)."""
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        receiver = False

        async def pdu(source: asyncio.StreamReader) -> bytearray | None:
            try:
                head = await source.readexactly(4)
                return bytearray(head + await source.readexactly(int.from_bytes(head, "big") - 4))
            except (asyncio.IncompleteReadError, ConnectionError):
                return None

        async def to_server() -> None:
            nonlocal receiver
            while (p := await pdu(reader)) is not None:
                command = int.from_bytes(p[4:8], "big")
                if command in _BINDS:
                    self.bind_commands.append(_BINDS[command])
                if command == _BIND_RX:
                    receiver, p[4:8] = True, _BIND_TRX.to_bytes(4, "big")
                elif command == _SUBMIT_SM and receiver:  # a receiver may not submit
                    writer.write(
                        b"\0\0\0\x11"
                        + (_SUBMIT_SM | _RESP).to_bytes(4, "big")
                        + _ESME_RINVBNDSTS.to_bytes(4, "big")
                        + p[12:16]
                        + b"\0"
                    )
                    await writer.drain()
                    continue
                up_writer.write(p)
                await up_writer.drain()
            up_writer.close()

        async def to_client() -> None:
            while (p := await pdu(up_reader)) is not None:
                if receiver and int.from_bytes(p[4:8], "big") == _BIND_TRX | _RESP:
                    p[4:8] = (_BIND_RX | _RESP).to_bytes(4, "big")
                writer.write(p)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(to_server(), to_client())
        except ConnectionError:
            pass
        finally:
            writer.close()
            up_writer.close()

    async def _main(self) -> None:
        upstream = free_port()
        server = smpp34.Server(host="127.0.0.1", port=upstream, system_id="TESTSMSC")
        await server.start()
        relay = await asyncio.start_server(lambda r, w: self._relay(r, w, upstream), "127.0.0.1", self.port)
        self._ready.set()
        sessions: dict[str, smpp34.Esme] = {}
        tasks = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lifetime
        try:
            while loop.time() < deadline and not self._closing:
                try:
                    ev = await asyncio.wait_for(server.next(), timeout=0.2)
                except TimeoutError:
                    continue
                if isinstance(ev, smpp34.Esme):
                    sessions[ev.session_id] = ev
                    self.binds += 1
                    if self.pending and self.binds > 1:  # a later session takes the held receipts
                        held, self.pending = self.pending, []
                        task = asyncio.create_task(self._replay(ev, held))  # one after the other
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                elif isinstance(ev, smpp34.Unbound):
                    self.unbinds += 1
                    sessions.pop(ev.session_id, None)
                elif isinstance(ev, smpp34.SubmitSmEvent):
                    record = {
                        "source_addr": ev.source_addr,
                        "source_addr_ton": ev.source_addr_ton,
                        "destination_addr": ev.destination_addr,
                        "dest_addr_ton": ev.dest_addr_ton,
                        "dest_addr_npi": ev.dest_addr_npi,
                        "esm_class": ev.esm_class,
                        "data_coding": ev.data_coding,
                        "registered_delivery": ev.registered_delivery,
                        "short_message": bytes(ev.short_message),
                    }
                    self.submits.append(record)
                    if self.script:
                        ev.reject(self.script.pop(0))
                        continue
                    mid = f"{0x1D300000 + len(self.submits):X}" if self.hex_ids else f"smsc{len(self.submits):06d}"
                    ev.accept(message_id=mid)
                    self.accepted[ev.destination_addr] += 1
                    esme = sessions.get(ev.session_id)
                    if esme is not None:
                        task = asyncio.create_task(
                            self._traffic(
                                esme,
                                ev.destination_addr,
                                ev.source_addr,
                                mid,
                                ev.registered_delivery,
                                first=self.accepted[ev.destination_addr] == 1,
                            )
                        )
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
        finally:
            for task in list(tasks):
                task.cancel()
            relay.close()
            await server.stop()

    async def _replay(self, esme, held: list[tuple]) -> None:
        for args in held:
            await self._traffic(esme, *args, hold=False)

    async def _traffic(
        self, esme, phone: str, ours: str, mid: str, registered: int, first: bool, hold: bool | None = None
    ) -> None:
        if self.hold_receipts if hold is None else hold:
            self.pending.append((phone, ours, mid, registered, first))
            return
        if registered & 0x03:
            rid = str(int(mid, 16)) if self.hex_ids else mid
            text = f"id:{rid} sub:001 dlvrd:001 submit date:2612011400 done date:2612011401 stat:DELIVRD err:000 text:"
            await esme.deliver_sm(
                destination_addr=ours,
                short_message=text.encode(),
                source_addr=phone,
                esm_class=0x04,
                tlvs=[
                    smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, rid.encode() + b"\0"),
                    smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([2])),
                ],
            )
            self.delivered += 1
        if first and phone in self.replies_from:
            await esme.deliver_sm(destination_addr=ours, short_message=b"STOP", source_addr=phone, esm_class=0)

    def __enter__(self) -> TestSmsc:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test SMSC did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._closing = True  # the loop ends at its next 0.2 s tick
        self._thread.join(5)


class RefusingSmsc:
    """A minimal SMSC on 127.0.0.1 that refuses every bind, for the bind-failure tests.

    smpp34's server accepts every bind (it has no credentials to check), so this peer is
    written here, small on purpose: it reads each PDU with smpplib's decoder, records binds
    (system_id, password) and anything else that arrives, and answers a bind as told:

    - `answer="bind_transceiver_resp"`: a bind_transceiver_resp carrying `status`
      (default ESME_RBINDFAIL, 0x0D), the SMPP 3.4 way of refusing credentials;
    - `answer="generic_nack"`: a generic_nack carrying `status`, as some SMSCs do;
    - `answer="close"`: hangs up without answering.

    It never accepts a bind, so a submit_sm reaching it (`others`) is a client bug.
    """

    __test__ = False

    def __init__(self, answer: str = "bind_transceiver_resp", status: int = 0x0D, lifetime: float = 30.0) -> None:
        if answer not in ("bind_transceiver_resp", "generic_nack", "close"):
            raise ValueError(f"unknown answer {answer!r}")
        self.answer, self.status, self.lifetime = answer, status, lifetime
        self.binds: list[dict] = []  # {"command", "system_id", "password"} per bind received
        self.others: list[str] = []  # every other command received
        self._closing = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]

    class _Sequence:  # smpplib's decoder wants a client that can number PDUs; the numbers are overwritten
        sequence = 0

        def next_sequence(self) -> int:
            return 1

    def _read_pdu(self, conn: socket.socket):
        import smpplib.smpp

        header = b""
        while len(header) < 4:
            chunk = conn.recv(4 - len(header))
            if not chunk:
                return None
            header += chunk
        length = int.from_bytes(header, "big")
        body = b""
        while len(body) < length - 4:
            chunk = conn.recv(length - 4 - len(body))
            if not chunk:
                return None
            body += chunk
        return smpplib.smpp.parse_pdu(header + body, client=self._Sequence(), allow_unknown_opt_params=True)

    def _serve(self, conn: socket.socket) -> None:
        import smpplib.smpp

        conn.settimeout(0.2)
        with conn:
            while not self._closing.is_set():
                try:
                    pdu = self._read_pdu(conn)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if pdu is None:
                    return
                if not pdu.command.startswith("bind_"):
                    self.others.append(pdu.command)
                    continue
                self.binds.append(
                    {"command": pdu.command, "system_id": pdu.system_id.decode(), "password": pdu.password.decode()}
                )
                if self.answer == "close":
                    return
                reply = smpplib.smpp.make_pdu(
                    self.answer if self.answer == "generic_nack" else f"{pdu.command}_resp",
                    client=self._Sequence(),
                    status=self.status,
                    system_id="REFUSER",
                )
                reply.sequence = pdu.sequence
                conn.sendall(reply.generate())

    def _accept_loop(self) -> None:
        deadline = threading.Event()
        timer = threading.Timer(self.lifetime, deadline.set)
        timer.daemon = True
        timer.start()
        try:
            while not (self._closing.is_set() or deadline.is_set()):
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
        finally:
            timer.cancel()
            self._listener.close()

    def __enter__(self) -> RefusingSmsc:
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing.set()
        self._thread.join(5)
