"""A bounded loopback HTTP server for provider fakes: 127.0.0.1 only, stops by itself.

Subclasses implement `route(request) -> (status, headers, body)`. Scripted answers
(`script`) let a test make the next requests fail with 429/500/…; `hold_on` makes the n-th
matching request be recorded as received and then never answered, until the server stops —
what a sender sees when it dies mid-request.

Example:
    with FakeInfobip() as server:
        os.environ["INFOBIP_BASE_URL"] = server.url
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(self.body))


@dataclass
class Answer:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


class FakeServer:
    """Base class; `lifetime` seconds after start the server shuts itself down."""

    def __init__(self, lifetime: float = 120.0) -> None:
        self.lifetime = lifetime
        self.requests: list[Request] = []
        self.problems: list[str] = []  # requests that broke the documented API
        self.script: list[int | None] = []  # statuses for the next send requests, in order (None: answer normally)
        self.hold_on: int | None = None  # the n-th send request (1-based) is never answered
        self.held = threading.Event()  # set once the held request has arrived
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.sends = 0

    # --- to override ------------------------------------------------------------------
    def route(self, request: Request) -> Answer:  # pragma: no cover - interface
        raise NotImplementedError

    def is_send(self, request: Request) -> bool:
        return request.method == "POST"

    # --- machinery ----------------------------------------------------------------------
    def _handle(self, request: Request) -> Answer | None:
        with self._lock:
            self.requests.append(request)
            scripted = None
            if self.is_send(request):
                self.sends += 1
                if self.script:
                    scripted = self.script.pop(0)
            hold = self.is_send(request) and self.hold_on == self.sends
        if scripted is not None:
            return self.scripted(scripted, request)
        answer = self.route(request)
        if hold:
            self.held.set()
            self._release.wait(self.lifetime)
            return None  # the client never hears back
        return answer

    def scripted(self, status: int, request: Request) -> Answer:
        return Answer(status, {"error": status}, {"Retry-After": "0"} if status == 429 else {})

    def __enter__(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                answer = fake._handle(request)
                if answer is None:
                    self.close_connection = True
                    return
                payload = (
                    b""
                    if answer.body is None
                    else (answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode())
                )
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        self.stop()

    def problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)
