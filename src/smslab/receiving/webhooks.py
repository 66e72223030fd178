"""`smslab serve`: one ASGI app that receives every provider's webhooks into the journal.

Each accepted request is appended to the landing-zone journal and fsynced **before** the 2xx
goes out; a request that fails authentication gets 401/403 and one that cannot be parsed at
all gets 400 — neither is stored. Durability at thousands of callbacks per second comes from
group commit: a single writer takes every request that arrived while the previous fsync was
running, writes them, fsyncs once, and only then releases all their responses.

Settings (environment): TWILIO_AUTH_TOKEN (Twilio signatures required when set),
SMSLAB_PUBLIC_URL (the base URL the providers call, for signatures behind a proxy),
SMSLAB_WEBHOOK_USER / SMSLAB_WEBHOOK_PASSWORD (basic auth on the Infobip and Vonage endpoints),
VONAGE_SIGNATURE_SECRET and VONAGE_SIGNATURE_METHOD (md5hash, md5, sha1, sha256, sha512).

Example (Twilio's published test vector):
    >>> twilio_signature("https://mycompany.com/myapp.php?foo=1&bar=2",
    ...     [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
    ...      ("From", "+14158675309"), ("To", "+18005551212")], "12345")
    'RSOYDt4T1cUTdK1PDd93/VVr8B8='
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smslab.receiving.journal import Journal

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

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ.get
        return cls(env("TWILIO_AUTH_TOKEN") or None, env("SMSLAB_PUBLIC_URL") or None,
                   env("SMSLAB_WEBHOOK_USER") or None, env("SMSLAB_WEBHOOK_PASSWORD") or None,
                   env("VONAGE_SIGNATURE_SECRET") or None, env("VONAGE_SIGNATURE_METHOD") or "md5hash")


# ---- signatures -------------------------------------------------------------------------------

def twilio_signature(url: str, params: list[tuple[str, str]], token: str) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + name+value of every param sorted by name, then value))."""
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode("utf-8"), hashlib.sha1).digest()).decode()


def _port_variants(url: str) -> set[str]:
    """The URL as given, with its default port added and with it removed (Twilio signs either)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    variants = {url}
    if default is not None:
        if parts.port is None:
            variants.add(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
        elif parts.port == default:
            variants.add(urlunsplit(parts._replace(netloc=host)))
    return variants


def twilio_valid(url: str, params: list[tuple[str, str]], body: bytes, signature: str | None, token: str) -> bool:
    """True when `signature` matches the request (form params, or a JSON body via bodySHA256)."""
    if not signature:
        return False
    query = dict(parse_qsl(urlsplit(url).query))
    if "bodySHA256" in query:
        if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), query["bodySHA256"]):
            return False
        params = []
    return any(hmac.compare_digest(twilio_signature(u, params, token), signature) for u in _port_variants(url))


def vonage_signature(params: dict[str, str], secret: str, method: str = "md5hash") -> str:
    """Vonage SMS API `sig`: the params but `sig`, sorted, as `&key=value` (with & and = in values
    replaced by _); md5hash = md5(query + secret) in lower-case hex, the HMAC methods = HMAC(secret, query)
    in upper-case hex."""
    query = "".join(f"&{k}={str(v).replace('&', '_').replace('=', '_')}" for k, v in sorted(params.items()) if k != "sig")
    if method == "md5hash":
        return hashlib.md5((query + secret).encode("utf-8")).hexdigest()
    algorithm = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}[method]
    return hmac.new(secret.encode(), query.encode("utf-8"), algorithm).hexdigest().upper()


# ---- group commit -----------------------------------------------------------------------------

class GroupCommitter:
    """One writer: every record that arrived during the previous fsync is written and fsynced together."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.pending: list[tuple[dict, asyncio.Future]] = []
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.commits = 0
        self.records = 0

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
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
            await self._flush()

    async def _flush(self) -> None:
        batch, self.pending = self.pending, []
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
    return hmac.compare_digest(user, settings.webhook_user) and hmac.compare_digest(password, settings.webhook_password or "")


def _unauthorised() -> Response:
    return Response("authentication required\n", status_code=401, headers={"WWW-Authenticate": 'Basic realm="smslab"'})


def _bad(reason: str) -> Response:
    return Response(f"{reason}\n", status_code=400, media_type="text/plain")


def _public_url(request: Request, settings: Settings) -> str:
    """The URL the provider called: SMSLAB_PUBLIC_URL + path (+ query) behind a proxy, else what the app sees."""
    if not settings.public_url:
        return str(request.url)
    query = request.url.query
    return settings.public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"not a form body: {exc}") from None


async def _store(request: Request, provider: str, kind: str, body: bytes, content_type: str) -> None:
    record = Journal.envelope(provider, kind, body, content_type=content_type)
    await request.app.state.committer.append(record)


async def infobip(request: Request, kind: str) -> Response:
    if not _basic_auth_ok(request, request.app.state.settings):
        return _unauthorised()
    body = await request.body()
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _bad("body is not JSON")
    if not (isinstance(doc, dict) and (isinstance(doc.get("results"), list) or "messageId" in doc)):
        return _bad('expected {"results": [...]}')
    await _store(request, "infobip", kind, body, "application/json")
    return Response(status_code=200)


async def twilio(request: Request, kind: str) -> Response:
    settings = request.app.state.settings
    body = await request.body()
    is_json = request.headers.get("content-type", "").startswith("application/json")
    try:
        params = [] if is_json else _form(body)
    except ValueError as exc:
        return _bad(str(exc))
    if settings.twilio_auth_token and not twilio_valid(
            _public_url(request, settings), params, body, request.headers.get("x-twilio-signature"),
            settings.twilio_auth_token):
        return Response("invalid X-Twilio-Signature\n", status_code=403)
    if not is_json and not any(k in ("MessageSid", "SmsSid") for k, _ in params):
        return _bad("MessageSid missing")
    await _store(request, "twilio", kind, body, "application/json" if is_json else FORM)
    if kind == "inbound":
        return Response(TWIML_EMPTY, status_code=200, media_type="text/xml")
    return Response(status_code=204)


async def vonage(request: Request, kind: str) -> Response:
    settings = request.app.state.settings
    if not _basic_auth_ok(request, settings):
        return _unauthorised()
    if request.method == "GET":
        body, content_type = request.url.query.encode("utf-8"), FORM
    else:
        body = await request.body()
        content_type = "application/json" if request.headers.get("content-type", "").startswith("application/json") else FORM
    try:
        if content_type == FORM:
            params = dict(_form(body))
        else:
            params = json.loads(body)
            if not isinstance(params, dict):
                raise ValueError("expected a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        return _bad(f"cannot parse the callback: {exc}")
    if settings.vonage_signature_secret:
        expected = vonage_signature({k: str(v) for k, v in params.items()}, settings.vonage_signature_secret,
                                    settings.vonage_signature_method)
        if not hmac.compare_digest(expected.lower(), str(params.get("sig", "")).lower()):
            return Response("invalid signature\n", status_code=403)
    if not (params.get("messageId") or params.get("message_uuid")):
        return _bad("messageId missing")
    await _store(request, "vonage", kind, body, content_type)
    return Response(status_code=204)


async def healthz(request: Request) -> Response:
    committer: GroupCommitter = request.app.state.committer
    return JSONResponse({"status": "ok", "journal": str(committer.journal.root), "commits": committer.commits,
                         "records": committer.records})


def create_app(*, landing: Any = None, settings: Settings | None = None) -> Starlette:
    """The webhook app: POST /infobip/{dlr,inbound}, POST /twilio/{status,inbound},
    GET|POST /vonage/{dlr,inbound}, GET /healthz."""
    journal = Journal(landing)
    journal.root.mkdir(parents=True, exist_ok=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.committer = GroupCommitter(journal)
        await app.state.committer.start()
        try:
            yield
        finally:
            await app.state.committer.stop()

    def endpoint(handler, kind: str):
        async def call(request: Request) -> Response:
            return await handler(request, kind)
        return call

    app = Starlette(routes=[
        Route("/infobip/dlr", endpoint(infobip, "dlr"), methods=["POST"]),
        Route("/infobip/inbound", endpoint(infobip, "inbound"), methods=["POST"]),
        Route("/twilio/status", endpoint(twilio, "dlr"), methods=["POST"]),
        Route("/twilio/inbound", endpoint(twilio, "inbound"), methods=["POST"]),
        Route("/vonage/dlr", endpoint(vonage, "dlr"), methods=["GET", "POST"]),
        Route("/vonage/inbound", endpoint(vonage, "inbound"), methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ], lifespan=lifespan)
    app.state.settings = settings or Settings.from_env()

    return app


def serve(*, host: str = "127.0.0.1", port: int = 8700, landing: Any = None) -> None:
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
    uvicorn.run(create_app(landing=landing), **options)
