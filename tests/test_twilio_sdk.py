"""Twilio webhooks signed by Twilio's own library (twilio-python's RequestValidator, a dev extra):
smslab accepts what the SDK signs and validates, in each scheme and URL variant, and refuses
tampered or unsigned requests."""

import itertools

import pytest
from twilio.request_validator import RequestValidator

from smslab.receiving.signatures import twilio_algorithm, twilio_valid
from test_webhooks import server, twilio_form  # noqa: F401  (the live-server fixture)

TOKEN = "12345"
PARAMS = {
    "MessageSid": "SM1",
    "MessageStatus": "delivered",
    "To": "+15558675310",
    "From": "+15017122661",
    "ApiVersion": "2010-04-01",
    "ErrorCode": "",
    "Body": "a & b = c",
}
URLS = [
    "https://hooks.example.org/twilio/status",
    "https://hooks.example.org:443/twilio/status",
    "https://hooks.example.org:8443/twilio/status",
    "http://hooks.example.org/twilio/status?x=1&y=2",
    "http://hooks.example.org:80/twilio/status",
    "http://127.0.0.1:8700/twilio/status",
]


@pytest.mark.parametrize("algorithm", ["HMAC_SHA1", "HMAC_SHA256"])
def test_every_url_variant_the_sdk_accepts_smslab_accepts(algorithm):
    """Signatures the SDK computes over every spelling of every URL (with, without, default and
    non-default ports): smslab, given the URL it was called at, agrees with the SDK's validate()."""
    sdk = RequestValidator(TOKEN)
    spelled = URLS + [
        u.replace(":443", "").replace(":80/", "/").replace(":8443", "").replace(":8700", "") for u in URLS
    ]
    for called, signed in itertools.product(URLS, spelled):
        signature = sdk.compute_signature(signed, PARAMS, algorithm)
        expected = sdk.validate(called, PARAMS, signature, algorithm)
        ours = twilio_valid(called, sorted(PARAMS.items()), b"", signature, TOKEN, algorithm)
        assert ours == expected, (called, signed)
    # the case of issue #15: Twilio signed the URL without its non-default port
    signature = sdk.compute_signature("https://hooks.example.org/twilio/status", PARAMS, algorithm)
    assert twilio_valid(
        "https://hooks.example.org:8443/twilio/status", sorted(PARAMS.items()), b"", signature, TOKEN, algorithm
    )


def test_the_settings_header_names_the_algorithm():
    assert twilio_algorithm(None) == "HMAC_SHA1"
    assert twilio_algorithm("key=webhooks_sharedkey_123,algorithm=HMAC_SHA256") == "HMAC_SHA256"
    sdk = RequestValidator(TOKEN)
    sha256 = sdk.compute_signature(URLS[0], PARAMS, "HMAC_SHA256")
    assert not twilio_valid(URLS[0], sorted(PARAMS.items()), b"", sha256, TOKEN, "HMAC_SHA1")
    assert not twilio_valid(URLS[0], sorted(PARAMS.items()), b"", sha256, TOKEN, "HMAC_SHA512")


def test_json_bodies_signed_by_the_sdk():
    sdk = RequestValidator(TOKEN)
    body = '{"MessageSid": "SM1", "MessageStatus": "delivered"}'
    url = URLS[0] + "?bodySHA256=" + sdk.compute_hash(body)
    signature = sdk.compute_signature(url, {}, "HMAC_SHA256")
    assert sdk.validate(url, body, signature, "HMAC_SHA256")
    assert twilio_valid(url, [], body.encode(), signature, TOKEN, "HMAC_SHA256")
    assert not twilio_valid(url, [], body.replace("delivered", "failed").encode(), signature, TOKEN, "HMAC_SHA256")


def test_the_server_takes_sha256_callbacks_signed_with_the_shared_key(server):  # noqa: F811
    srv = server(
        TWILIO_AUTH_TOKEN="auth-token",
        TWILIO_WEBHOOK_SHARED_KEY="shared-secret",
        SMSLAB_PUBLIC_URL="https://hooks.example.org:8443",
    )
    body, params = twilio_form(**PARAMS)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    rule = {"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    # Twilio signed the URL without its port; the SDK accepts that, so must smslab
    signature = RequestValidator("shared-secret").compute_signature(
        "https://hooks.example.org/twilio/status", PARAMS, "HMAC_SHA256"
    )
    assert srv.request("POST", "/twilio/status", body, {**form, **rule, "X-Twilio-Signature": signature})[0] == 204
    # tampered, or the SHA-256 signature without the header naming it, or the wrong secret: refused
    tampered = body.replace(b"delivered", b"undelivered")
    assert srv.request("POST", "/twilio/status", tampered, {**form, **rule, "X-Twilio-Signature": signature})[0] == 403
    assert srv.request("POST", "/twilio/status", body, {**form, "X-Twilio-Signature": signature})[0] == 403
    wrong = RequestValidator("auth-token").compute_signature(
        "https://hooks.example.org/twilio/status", PARAMS, "HMAC_SHA256"
    )
    assert srv.request("POST", "/twilio/status", body, {**form, **rule, "X-Twilio-Signature": wrong})[0] == 403
    # the classic Auth Token signature still works
    classic = RequestValidator("auth-token").compute_signature("https://hooks.example.org:8443/twilio/status", PARAMS)
    assert srv.request("POST", "/twilio/status", body, {**form, "X-Twilio-Signature": classic})[0] == 204
