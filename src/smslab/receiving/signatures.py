"""Webhook signatures: Twilio's X-Twilio-Signature (HMAC-SHA1, and HMAC-SHA256 for Webhooks
Rules) over the URL variants Twilio's validator accepts, Vonage's SMS API `sig` and Messages API
JWT (with `payload_hash`), and the replay window both Vonage schemes share.

Example (Twilio's published test vector):
    >>> twilio_signature("https://mycompany.com/myapp.php?foo=1&bar=2",
    ...     [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
    ...      ("From", "+14158675309"), ("To", "+18005551212")], "12345")
    'RSOYDt4T1cUTdK1PDd93/VVr8B8='
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlsplit, urlunsplit

# ---- signatures -------------------------------------------------------------------------------

TWILIO_ALGORITHMS = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


def twilio_signature(url: str, params: list[tuple[str, str]], token: str, algorithm: str = "HMAC_SHA1") -> str:
    """X-Twilio-Signature: base64(HMAC(token, url + name+value of every distinct param, sorted by
    name, then value)); HMAC-SHA1 with the Auth Token, or the algorithm a Webhooks Rule names
    (HMAC_SHA256 with its SharedKey secret)."""
    data = url + "".join(name + value for name, value in sorted(set(params)))
    digest = TWILIO_ALGORITHMS[algorithm.upper()]
    return base64.b64encode(hmac.new(token.encode(), data.encode("utf-8"), digest).digest()).decode()


def twilio_algorithm(settings_header: str | None) -> str:
    """The algorithm of `X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256`;
    HMAC_SHA1 (the Auth Token scheme) when the header is absent or names none."""
    for part in (settings_header or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip().lower() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def _port_variants(url: str) -> set[str]:
    """The URLs Twilio's own validator accepts for `url`: with the scheme's default port added
    when it has no port, and without any port (a non-default one included)."""
    parts = urlsplit(url)
    variants = {url}
    if parts.port is not None:
        netloc = parts.netloc.rsplit(":", 1)[0]
        variants.add(urlunsplit(parts._replace(netloc=netloc)))
    elif parts.scheme in ("http", "https"):
        default = 443 if parts.scheme == "https" else 80
        variants.add(urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}")))
    return variants


def twilio_valid(
    url: str,
    params: list[tuple[str, str]],
    body: bytes,
    signature: str | None,
    token: str,
    algorithm: str = "HMAC_SHA1",
) -> bool:
    """True when `signature` matches the request (form params, or a JSON body via bodySHA256),
    for the URL or one of its port variants; an algorithm smslab does not know never matches."""
    if not signature or algorithm.upper() not in TWILIO_ALGORITHMS:
        return False
    query = dict(parse_qsl(urlsplit(url).query))
    if "bodySHA256" in query:
        if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), query["bodySHA256"]):
            return False
        params = []
    return any(
        hmac.compare_digest(twilio_signature(u, params, token, algorithm), signature) for u in _port_variants(url)
    )


def vonage_signature(params: dict[str, str], secret: str, method: str = "md5hash") -> str:
    """Vonage SMS API `sig`: the params but `sig`, sorted, as `&key=value` (with & and = in values
    replaced by _); md5hash = md5(query + secret) in lower-case hex, the HMAC methods = HMAC(secret, query)
    in upper-case hex."""
    query = "".join(
        f"&{k}={str(v).replace('&', '_').replace('=', '_')}" for k, v in sorted(params.items()) if k != "sig"
    )
    if method == "md5hash":
        return hashlib.md5((query + secret).encode("utf-8")).hexdigest()
    algorithm = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}[method]
    return hmac.new(secret.encode(), query.encode("utf-8"), algorithm).hexdigest().upper()


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def vonage_jwt_claims(token: str, secret: str, body: bytes, *, now: float, max_age: float) -> dict:
    """The claims of a Vonage Messages API signed webhook (`Authorization: Bearer <JWT>`), or
    ValueError saying why it is refused: the JWT must be HS256 signed with the signature secret,
    its `payload_hash` the hex SHA-256 of the body as received, and its `iat` (issued at) no more
    than `max_age` seconds old (nor that far in the future)."""
    try:
        head_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url(head_b64))
        claims = json.loads(_b64url(claims_b64))
        signature = _b64url(signature_b64)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"not a JWT ({exc})") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise ValueError("JWT algorithm is not HS256")
    expected = hmac.new(secret.encode("utf-8"), f"{head_b64}.{claims_b64}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise ValueError("JWT signature does not match VONAGE_SIGNATURE_SECRET")
    if not isinstance(claims, dict):
        raise ValueError("JWT claims are not an object")
    payload_hash = claims.get("payload_hash")
    if not isinstance(payload_hash, str) or not hmac.compare_digest(
        payload_hash.lower(), hashlib.sha256(body).hexdigest()
    ):
        raise ValueError("payload_hash does not match the body")
    issued = claims.get("iat")
    if isinstance(issued, bool) or not isinstance(issued, (int, float)):
        raise ValueError("JWT has no iat")
    if now - issued > max_age:
        raise ValueError(f"JWT issued {int(now - issued)} s ago, outside the {int(max_age)} s window")
    if issued - now > max_age:
        raise ValueError(f"JWT issued {int(issued - now)} s in the future, outside the {int(max_age)} s window")
    return claims


class ReplayGuard:
    """Signatures seen within the replay window: the same signed callback twice is refused (a
    provider's genuine retry is signed anew: a new `jti`/`nonce` and time)."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    def first_time(self, key: str, now: float, window: float) -> bool:
        if len(self.seen) > 10_000:
            self.seen = {k: t for k, t in self.seen.items() if now - t <= window}
        if key in self.seen and now - self.seen[key] <= window:
            return False
        self.seen[key] = now
        return True
