"""Vonage signed webhooks: Messages API JWTs (HS256 with the signature secret, payload_hash of the
body, issued-at freshness) made by PyJWT, and the SMS API `sig`, each with a replay window."""

import hashlib
import json
import time
import uuid
from urllib.parse import urlencode

import jwt
import pytest

from smslab.receiving.journal import journal_files
from smslab.receiving.signatures import vonage_jwt_claims, vonage_signature
from test_webhooks import server  # noqa: F401  (the live-server fixture)

# at least 64 bytes: PyJWT warns about a shorter key for the HS512 token below
SECRET = "vonage-signature-secret-0123456789-0123456789-0123456789-abcdefgh"
STATUS = {
    "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab",
    "to": "447700900000",
    "from": "447700900001",
    "timestamp": "2026-12-01T14:00:05.000Z",
    "status": "delivered",
    "channel": "sms",
    "usage": {"currency": "EUR", "price": "0.0333"},
}


def token_for(body: bytes, *, secret=SECRET, iat=None, algorithm="HS256", payload_hash=None, jti=None):
    """A Messages API signed-webhook JWT as Vonage documents it, made with PyJWT."""
    claims = {
        "iat": int(time.time()) if iat is None else iat,
        "jti": jti or str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": payload_hash or hashlib.sha256(body).hexdigest(),
        "api_key": "abcd1234",
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    }
    return jwt.encode(claims, secret, algorithm=algorithm)


def test_claims_of_a_pyjwt_token_and_every_way_it_is_refused():
    body = json.dumps(STATUS).encode()
    now = time.time()
    claims = vonage_jwt_claims(token_for(body), SECRET, body, now=now, max_age=300)
    assert claims["iss"] == "Vonage" and claims["payload_hash"] == hashlib.sha256(body).hexdigest()
    refused = {
        "signature": (token_for(body, secret="another-secret-0123456789abcdef-0123456789abcdef-0123456789ab"), body),
        "payload_hash": (token_for(body), body.replace(b"delivered", b"rejected")),
        "issued": (token_for(body, iat=int(now) - 301), body),
        "future": (token_for(body, iat=int(now) + 301), body),
        "HS256": (token_for(body, algorithm="HS512"), body),
        "not a JWT": ("abc.def", body),
    }
    for why, (token, sent) in refused.items():
        with pytest.raises(ValueError, match=why):
            vonage_jwt_claims(token, SECRET, sent, now=now, max_age=300)
    # alg "none" with the signature left out is never accepted
    unsigned = jwt.encode({"iat": int(now), "payload_hash": hashlib.sha256(body).hexdigest()}, None, algorithm="none")
    with pytest.raises(ValueError):
        vonage_jwt_claims(unsigned, SECRET, body, now=now, max_age=300)


def test_the_server_stores_signed_messages_api_webhooks_and_refuses_tampered_or_replayed_ones(server):  # noqa: F811
    srv = server(VONAGE_SIGNATURE_SECRET=SECRET, SMSLAB_WEBHOOK_USER="u", SMSLAB_WEBHOOK_PASSWORD="p")
    body = json.dumps(STATUS).encode()
    token = token_for(body)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    assert srv.request("POST", "/vonage/dlr", body, headers)[0] == 204
    assert srv.request("POST", "/vonage/dlr", body, headers)[0] == 403  # the same callback again
    tampered = body.replace(b"delivered", b"rejected")
    signed_for_other_body = {**headers, "Authorization": f"Bearer {token_for(body)}"}
    assert srv.request("POST", "/vonage/dlr", tampered, signed_for_other_body)[0] == 403
    stale = token_for(body, iat=int(time.time()) - 3600)
    assert srv.request("POST", "/vonage/dlr", body, {**headers, "Authorization": f"Bearer {stale}"})[0] == 403
    wrong = token_for(body, secret="not-the-secret-0123456789abcdef-0123456789abcdef-0123456789ab")
    assert srv.request("POST", "/vonage/dlr", body, {**headers, "Authorization": f"Bearer {wrong}"})[0] == 403
    # Vonage retrying the same status signs it anew: accepted (the loader dedupes the report)
    assert srv.request("POST", "/vonage/dlr", body, {**headers, "Authorization": f"Bearer {token_for(body)}"})[0] == 204
    inbound = json.dumps(
        {
            "message_uuid": "m-2",
            "from": "447700900001",
            "to": "447700900000",
            "channel": "sms",
            "message_type": "text",
            "text": "STOP",
            "timestamp": "2026-12-01T14:01:00Z",
        }
    ).encode()
    assert (
        srv.request("POST", "/vonage/inbound", inbound, {**headers, "Authorization": f"Bearer {token_for(inbound)}"})[0]
        == 204
    )
    lines = [json.loads(text) for p in journal_files(srv.landing) for text in p.read_text().splitlines()]
    assert len(lines) == 3 and all(line["provider"] == "vonage" for line in lines)


def test_sms_api_signatures_have_a_replay_window(server):  # noqa: F811
    srv = server(VONAGE_SIGNATURE_SECRET="vsecret", VONAGE_SIGNATURE_MAX_AGE="60")

    def signed(stamp, nonce):
        params = {
            "messageId": "0B00000127FDBC63",
            "msisdn": "447547232824",
            "status": "delivered",
            "to": "ACME",
            "timestamp": str(int(stamp)),
            "nonce": nonce,
        }
        return "/vonage/dlr?" + urlencode({**params, "sig": vonage_signature(params, "vsecret")})

    fresh = signed(time.time(), "n1")
    assert srv.request("GET", fresh)[0] == 204
    assert srv.request("GET", fresh)[0] == 403  # replayed
    assert srv.request("GET", signed(time.time() - 120, "n2"))[0] == 403  # signed too long ago
    no_stamp = {"messageId": "X1", "status": "delivered", "msisdn": "447547232824", "to": "ACME"}
    query = urlencode({**no_stamp, "sig": vonage_signature(no_stamp, "vsecret")})
    assert srv.request("GET", "/vonage/dlr?" + query)[0] == 403


def test_smslab_agrees_with_vonages_own_verifier():
    """vonage-jwt (Vonage's library, a dev extra) verifies Messages API signatures with
    `verify_signature(token, signature_secret)`: what it accepts, smslab accepts, and the reverse."""
    from vonage_jwt.verify_jwt import verify_signature

    body = json.dumps(STATUS).encode()
    now = time.time()
    for secret in (SECRET, "another-secret-0123456789abcdef-0123456789abcdef-0123456789ab"):
        token = token_for(body, secret=secret)
        try:
            ours = bool(vonage_jwt_claims(token, SECRET, body, now=now, max_age=300))
        except ValueError:
            ours = False
        assert ours == verify_signature(token, SECRET)
