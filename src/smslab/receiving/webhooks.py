"""`smslab serve`: one plain ASGI app that receives every provider's webhooks into the journal.

Each accepted request is appended to the landing-zone journal and fsynced **before** the 2xx
goes out; a request that fails authentication gets 401/403 and one that cannot be parsed at
all gets 400 — neither is stored. Durability at thousands of callbacks per second comes from
group commit: a single writer takes every request that arrived while the previous fsync was
running, writes them, fsyncs once, and only then releases all their responses.

Settings (environment): TWILIO_AUTH_TOKEN (Twilio signatures required when set),
TWILIO_WEBHOOK_SHARED_KEY (the secret of a Twilio Webhooks Rule's SharedKey, for requests that
carry X-Twilio-Webhooks-Signature-Settings, e.g. algorithm=HMAC_SHA256),
SMSLAB_PUBLIC_URL (the base URL the providers call, for signatures behind a proxy),
SMSLAB_WEBHOOK_USER / SMSLAB_WEBHOOK_PASSWORD (basic auth on the Infobip and Vonage endpoints),
VONAGE_SIGNATURE_SECRET and VONAGE_SIGNATURE_METHOD (md5hash, md5, sha1, sha256, sha512) for the
SMS API's `sig`, and the same secret for Messages API signed webhooks (a JWT), with
VONAGE_SIGNATURE_MAX_AGE (seconds, default 300) as the replay window of both.

Signatures are checked by `smslab.receiving.signatures`; the routes come from the registry of
incoming formats (`smslab.receiving.formats`).

Example:
    >>> import tempfile
    >>> app = create_app(landing=tempfile.mkdtemp(), settings=Settings())
    >>> isinstance(app, WebhookApp)
    True
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hmac
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from smslab.receiving import twilio, vonage
from smslab.receiving.formats import FORMATS, Format
from smslab.receiving.journal import Journal
from smslab.receiving.signatures import ReplayGuard, twilio_algorithm, twilio_valid, vonage_jwt_claims, vonage_signature

FORM = "application/x-www-form-urlencoded"
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@dataclass(frozen=True)
class Settings:
    """Webhook settings; `from_env()` reads them from the environment."""

    twilio_auth_token: str | None = None
    public_url: str | None = None
    webhook_user: str | None = None
    webhook_password: str | None = None
    vonage_signature_secret: str | None = None
    vonage_signature_method: str = "md5hash"
    twilio_webhook_shared_key: str | None = None
    vonage_max_age: float = 300.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            env("TWILIO_AUTH_TOKEN") or None,
            env("SMSLAB_PUBLIC_URL") or None,
            env("SMSLAB_WEBHOOK_USER") or None,
            env("SMSLAB_WEBHOOK_PASSWORD") or None,
            env("VONAGE_SIGNATURE_SECRET") or None,
            env("VONAGE_SIGNATURE_METHOD") or "md5hash",
            env("TWILIO_WEBHOOK_SHARED_KEY") or None,
            float(env("VONAGE_SIGNATURE_MAX_AGE") or 300),
        )


# ---- group commit -----------------------------------------------------------------------------


class GroupCommitter:
    """One writer: every record that arrived during the previous fsync is written and fsynced together."""

    def __init__(self, journal: Journal, *, max_batch: int | None = None) -> None:
        self.journal = journal
        self.max_batch = max_batch  # 1 = one fsync per request (the benchmark's baseline)
        self.pending: list[tuple[dict, asyncio.Future]] = []
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.commits = 0
        self.records = 0

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            while self.pending:
                await self._flush()
            self.task.cancel()

    async def append(self, record: dict) -> None:
        """Return only once `record` is on disk (fsynced); raise if it could not be written."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((record, future))
        self.wakeup.set()
        await future

    async def _run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.pending:
                await self._flush()

    async def _flush(self) -> None:
        cut = len(self.pending) if self.max_batch is None else self.max_batch
        batch, self.pending = self.pending[:cut], self.pending[cut:]
        if not batch:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.journal.write_records, [r for r, _ in batch])
        except Exception as exc:  # disk full, permissions…: every waiting request fails, none is acknowledged
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.commits += 1
        self.records += len(batch)
        for _, future in batch:
            if not future.done():
                future.set_result(None)


# ---- the app ----------------------------------------------------------------------------------


@dataclass
class Request:
    """What a handler needs from an HTTP request (a plain ASGI app: no framework on the hot path)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    url: str  # as the app sees it: scheme://host/path?query


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[bytes, bytes], ...] = ()


def _basic_auth_ok(request: Request, settings: Settings) -> bool:
    if not settings.webhook_user:
        return True
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user, settings.webhook_user) and hmac.compare_digest(
        password, settings.webhook_password or ""
    )


UNAUTHORISED = Reply(401, b"authentication required\n", headers=((b"www-authenticate", b'Basic realm="smslab"'),))


def _bad(reason: str) -> Reply:
    return Reply(400, f"{reason}\n".encode())


def _public_url(request: Request, settings: Settings) -> str:
    """The URL the provider called: SMSLAB_PUBLIC_URL + path (+ query) behind a proxy, else what the app sees."""
    if not settings.public_url:
        return request.url
    return settings.public_url.rstrip("/") + request.path + (f"?{request.query}" if request.query else "")


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"not a form body: {exc}") from None


class WebhookApp:
    """The ASGI app: the webhook routes of every format in the registry (`receiving.formats`:
    POST /infobip/{dlr,inbound}, POST /twilio/{status,inbound}, GET|POST /vonage/{dlr,inbound}),
    and GET /healthz.

    Twilio and Vonage have handlers of their own (their signatures); any other format's routes
    take `json_webhook`: basic auth, the format's `validate`, then the journal."""

    def __init__(self, journal: Journal, settings: Settings, max_batch: int | None = None) -> None:
        self.journal, self.settings, self.max_batch = journal, settings, max_batch
        self.committer: GroupCommitter | None = None
        self.replays = ReplayGuard()
        signed: dict[str, Callable[..., Awaitable[Reply]]] = {"twilio": self.twilio, "vonage": self.vonage}
        self.routes: dict[str, tuple[tuple[str, ...], Callable[..., Awaitable[Reply]], str | None]] = {
            "/healthz": (("GET",), self.healthz, None)
        }
        for fmt in FORMATS.values():
            handler = signed.get(fmt.name) or functools.partial(self.json_webhook, fmt)
            for path, (methods, kind) in fmt.routes.items():
                self.routes[path] = (methods, handler, kind)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        route = self.routes.get(scope["path"])
        if route is None:
            reply = Reply(404, b"not found\n")
        elif scope["method"] not in route[0]:
            reply = Reply(405, b"method not allowed\n")
        else:
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            query = scope.get("query_string", b"").decode("latin-1")
            host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("localhost", 80)))
            url = f"{scope.get('scheme', 'http')}://{host}{scope['path']}" + (f"?{query}" if query else "")
            request = Request(scope["method"], scope["path"], query, headers, b"".join(chunks), url)
            try:
                reply = await route[1](request, route[2])
            except OSError:  # the journal could not be written: nothing acknowledged, the provider retries
                reply = Reply(503, b"journal unavailable, retry later\n")
        reply_headers = [(b"content-type", reply.content_type.encode()), *reply.headers]
        if reply.status != 204:  # a 204 carries no body and no length
            reply_headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": reply_headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.committer = GroupCommitter(self.journal, max_batch=self.max_batch)
                await self.committer.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.committer is not None:
                    await self.committer.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _store(self, provider: str, kind: str, body: bytes, content_type: str) -> None:
        if self.committer is None:  # served without lifespan support: start the writer lazily
            self.committer = GroupCommitter(self.journal, max_batch=self.max_batch)
            await self.committer.start()
        await self.committer.append(Journal.envelope(provider, kind, body, content_type=content_type))

    async def json_webhook(self, fmt: Format, request: Request, kind: str) -> Reply:
        """A JSON webhook (Infobip's): basic auth when set, the format's validator, 200."""
        if not _basic_auth_ok(request, self.settings):
            return UNAUTHORISED
        if fmt.validate is not None:
            try:
                fmt.validate(request.body, "application/json")
            except ValueError as exc:  # not JSON, or not shaped like this format's body
                return _bad(str(exc))
        await self._store(fmt.name, kind, request.body, "application/json")
        return Reply(200)

    async def twilio(self, request: Request, kind: str) -> Reply:
        is_json = request.headers.get("content-type", "").startswith("application/json")
        try:
            params = [] if is_json else _form(request.body)
        except ValueError as exc:
            return _bad(str(exc))
        # a Webhooks Rule signs with its SharedKey and names its algorithm in a header; without
        # the header Twilio signs with the Auth Token (HMAC-SHA1)
        rule = request.headers.get("x-twilio-webhooks-signature-settings")
        token = (
            (self.settings.twilio_webhook_shared_key or self.settings.twilio_auth_token)
            if rule
            else self.settings.twilio_auth_token
        )
        required = self.settings.twilio_auth_token or self.settings.twilio_webhook_shared_key
        if required and not (
            token
            and twilio_valid(
                _public_url(request, self.settings),
                params,
                request.body,
                request.headers.get("x-twilio-signature"),
                token,
                twilio_algorithm(rule),
            )
        ):
            return Reply(403, b"invalid X-Twilio-Signature\n")
        if not is_json:
            try:
                twilio.validate_dlr(request.body, FORM)
            except ValueError as exc:
                return _bad(str(exc))
        await self._store("twilio", kind, request.body, "application/json" if is_json else FORM)
        if kind == "inbound":
            return Reply(200, TWIML_EMPTY.encode(), "text/xml")
        return Reply(204)

    async def vonage(self, request: Request, kind: str) -> Reply:
        secret = self.settings.vonage_signature_secret
        bearer = request.headers.get("authorization", "")
        if secret and bearer[:7].lower() == "bearer ":
            return await self._vonage_signed_jwt(request, kind, bearer[7:].strip(), secret)
        if not _basic_auth_ok(request, self.settings):
            return UNAUTHORISED
        if request.method == "GET":
            body, content_type = request.query.encode("utf-8"), FORM
        else:
            body = request.body
            is_json = request.headers.get("content-type", "").startswith("application/json")
            content_type = "application/json" if is_json else FORM
        try:
            params = vonage.decode(body, content_type)
        except ValueError as exc:
            return _bad(f"cannot parse the callback: {exc}")
        if secret:
            signed = {k: str(v) for k, v in params.items()}
            expected = vonage_signature(signed, secret, self.settings.vonage_signature_method)
            if not hmac.compare_digest(expected.lower(), str(params.get("sig", "")).lower()):
                return Reply(403, b"invalid signature\n")
            # SMS API signatures carry `timestamp` (Unix seconds): outside the window, or seen
            # before within it, is a replay
            now, window = time.time(), self.settings.vonage_max_age
            try:
                stamp = float(signed.get("timestamp", ""))
            except ValueError:
                return Reply(403, b"signed callback without a timestamp\n")
            if abs(now - stamp) > window:
                return Reply(403, b"signed callback outside the replay window\n")
            if not self.replays.first_time("sig:" + signed.get("sig", "").lower(), now, window):
                return Reply(403, b"signed callback replayed\n")
        try:
            vonage.validate_dlr(body, content_type)
        except ValueError as exc:
            return _bad(str(exc))
        await self._store("vonage", kind, body, content_type)
        return Reply(204)

    async def _vonage_signed_jwt(self, request: Request, kind: str, token: str, secret: str) -> Reply:
        """Messages API signed webhooks: a JSON body with `Authorization: Bearer <JWT>`."""
        now, window = time.time(), self.settings.vonage_max_age
        try:
            claims = vonage_jwt_claims(token, secret, request.body, now=now, max_age=window)
        except ValueError as exc:
            return Reply(403, f"invalid signed webhook: {exc}\n".encode())
        if not self.replays.first_time("jwt:" + str(claims.get("jti") or token), now, window):
            return Reply(403, b"signed webhook replayed\n")
        try:
            vonage.validate_dlr(request.body, "application/json")
        except ValueError as exc:
            return _bad(str(exc))
        await self._store("vonage", kind, request.body, "application/json")
        return Reply(204)

    async def healthz(self, request: Request, kind: None) -> Reply:
        committer = self.committer
        doc = {
            "status": "ok",
            "journal": str(self.journal.root),
            "commits": committer.commits if committer else 0,
            "records": committer.records if committer else 0,
        }
        return Reply(200, json.dumps(doc).encode(), "application/json")


def create_app(*, landing: Any = None, settings: Settings | None = None, max_batch: int | None = None) -> WebhookApp:
    """The webhook app, writing to the journal under `landing` (default: SMSLAB_LANDING or data/landing)."""
    journal = Journal(landing)
    journal.root.mkdir(parents=True, exist_ok=True)
    return WebhookApp(journal, settings or Settings.from_env(), max_batch)


def serve(*, host: str = "127.0.0.1", port: int = 8700, landing: Any = None, max_batch: int | None = None) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    options: dict[str, Any] = {"host": host, "port": port, "log_level": "warning", "access_log": False}
    try:
        import uvloop  # noqa: F401

        options["loop"] = "uvloop"
    except ImportError:
        pass
    try:
        import httptools  # noqa: F401

        options["http"] = "httptools"
    except ImportError:
        pass
    uvicorn.run(create_app(landing=landing, max_batch=max_batch), **options)
