"""`smslab serve` as a real process on 127.0.0.1: auth, signatures, fsync before 2xx, SIGKILL."""

import base64
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import pytest

from smslab import store
from smslab.receiving.journal import journal_files
from smslab.receiving.journal_load import load
from smslab.receiving.signatures import twilio_signature, twilio_valid, vonage_signature

TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]


# ---- signature algorithms against the published vectors ---------------------------------------


def test_twilio_signature_vectors():
    assert twilio_signature(VECTOR_URL, VECTOR_PARAMS, TOKEN) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    dupes = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature(VECTOR_URL, dupes, TOKEN) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    assert (
        twilio_signature("https://mycompany.com:443/myapp.php?foo=1&bar=2", VECTOR_PARAMS, TOKEN)
        == "kvajT1Ptam85bY51eRf/AJRuM3w="
    )


def test_twilio_validation_accepts_either_port_form_and_json_bodies():
    assert twilio_valid(
        "https://mycompany.com:443/myapp.php?foo=1&bar=2", VECTOR_PARAMS, b"", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", TOKEN
    )
    body = b'{"property": "value", "boolean": true}'
    url = VECTOR_URL + "&bodySHA256=" + hashlib.sha256(body).hexdigest()
    assert twilio_valid(url, [], body, "a9nBmqA0ju/hNViExpshrM61xv4=", TOKEN)
    assert not twilio_valid(url, [], body + b" ", "a9nBmqA0ju/hNViExpshrM61xv4=", TOKEN)
    assert not twilio_valid(VECTOR_URL, VECTOR_PARAMS, b"", None, TOKEN)


# ---- a real server ----------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp_path, **env):
        self.port = free_port()
        self.landing = tmp_path / "landing"
        self.env = {**os.environ, "SMSLAB_LANDING": str(self.landing), **env}
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smslab", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"serve did not start: {self.proc.stderr.read1().decode()[:500]}")

    def request(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def server(tmp_path):
    servers = []

    def make(**env):
        servers.append(Server(tmp_path, **env).start())
        return servers[-1]

    yield make
    for s in servers:
        s.stop(signal.SIGKILL)


def infobip_body(pmid, done="2026-12-01T14:00:05.000+0000"):
    return json.dumps(
        {
            "results": [
                {
                    "messageId": pmid,
                    "to": "33612345678",
                    "doneAt": done,
                    "smsCount": 1,
                    "status": {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": "DELIVERED_TO_HANDSET"},
                    "error": {"groupId": 0, "id": 0, "name": "NO_ERROR", "permanent": False},
                }
            ]
        }
    ).encode()


def journal_count(landing):
    return sum(len(p.read_text().splitlines()) for p in journal_files(landing))


def test_infobip_report_is_journalled_then_loaded(server, tmp_path):
    srv = server()
    status, _ = srv.request("POST", "/infobip/dlr", infobip_body("abc"), {"Content-Type": "application/json"})
    assert status == 200
    assert journal_count(srv.landing) == 1  # on disk before the answer came back
    con = store.connect(tmp_path / "w.duckdb")
    assert load(con=con, landing=srv.landing)["loaded"] == 1
    assert store.scalar(con, "SELECT status FROM dlr_events WHERE provider_message_id = 'abc'") == "delivered"


def test_unparseable_bodies_get_400_and_are_not_stored(server):
    srv = server()
    assert srv.request("POST", "/infobip/dlr", b"{not json")[0] == 400
    assert srv.request("POST", "/infobip/inbound", b'["a list"]')[0] == 400
    assert (
        srv.request("POST", "/twilio/status", b"Foo=bar", {"Content-Type": "application/x-www-form-urlencoded"})[0]
        == 400
    )
    assert srv.request("GET", "/vonage/dlr?status=delivered")[0] == 400
    assert srv.request("POST", "/nowhere/dlr", b"{}")[0] == 404
    assert journal_count(srv.landing) == 0


def test_basic_auth_on_infobip_and_vonage(server):
    srv = server(SMSLAB_WEBHOOK_USER="hook", SMSLAB_WEBHOOK_PASSWORD="s3cret")
    good = {"Authorization": "Basic " + base64.b64encode(b"hook:s3cret").decode()}
    bad = {"Authorization": "Basic " + base64.b64encode(b"hook:guess").decode()}
    assert srv.request("POST", "/infobip/dlr", infobip_body("x1"))[0] == 401
    assert srv.request("POST", "/infobip/dlr", infobip_body("x2"), bad)[0] == 401
    assert srv.request("POST", "/infobip/dlr", infobip_body("x3"), good)[0] == 200
    assert srv.request("GET", "/vonage/dlr?messageId=v1&status=delivered", headers=good)[0] == 204
    assert journal_count(srv.landing) == 2


def twilio_form(**params):
    return urlencode(params).encode(), sorted(params.items())


def test_twilio_signature_valid_accepted_tampered_or_wrong_token_rejected(server):
    srv = server(TWILIO_AUTH_TOKEN=TOKEN)
    url = f"http://127.0.0.1:{srv.port}/twilio/status"
    body, params = twilio_form(MessageSid="SM1", MessageStatus="delivered", To="+15558675310")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    good = twilio_signature(url, params, TOKEN)
    assert srv.request("POST", "/twilio/status", body, {**form, "X-Twilio-Signature": good})[0] == 204
    tampered = body.replace(b"delivered", b"undelivered")
    assert srv.request("POST", "/twilio/status", tampered, {**form, "X-Twilio-Signature": good})[0] == 403
    wrong = twilio_signature(url, params, "not-the-token")
    assert srv.request("POST", "/twilio/status", body, {**form, "X-Twilio-Signature": wrong})[0] == 403
    assert srv.request("POST", "/twilio/status", body, form)[0] == 403
    lines = [json.loads(line) for p in journal_files(srv.landing) for line in p.read_text().splitlines()]
    assert len(lines) == 1 and "MessageStatus=delivered" in lines[0]["body"]


def test_twilio_signature_behind_a_proxy_uses_the_public_url(server):
    public = "https://hooks.example.com/sms"
    srv = server(TWILIO_AUTH_TOKEN=TOKEN, SMSLAB_PUBLIC_URL=public)
    body, params = twilio_form(MessageSid="SM2", From="+15551230000", To="+15557654321", Body="STOP")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    as_provider_signed = twilio_signature(public + "/twilio/inbound", params, TOKEN)
    as_app_sees = twilio_signature(f"http://127.0.0.1:{srv.port}/twilio/inbound", params, TOKEN)
    status, reply = srv.request("POST", "/twilio/inbound", body, {**form, "X-Twilio-Signature": as_provider_signed})
    assert status == 200 and b"<Response>" in reply
    assert srv.request("POST", "/twilio/inbound", body, {**form, "X-Twilio-Signature": as_app_sees})[0] == 403


def test_vonage_signed_callbacks(server):
    srv = server(VONAGE_SIGNATURE_SECRET="vsecret")
    params = {
        "messageId": "0B00000127FDBC63",
        "msisdn": "447547232824",
        "status": "delivered",
        "to": "ACME",
        "timestamp": str(int(time.time())),
        "nonce": "n1",
    }
    signed = {**params, "sig": vonage_signature(params, "vsecret")}
    assert srv.request("GET", "/vonage/dlr?" + urlencode(signed))[0] == 204
    forged = {**signed, "status": "failed"}
    assert srv.request("GET", "/vonage/dlr?" + urlencode(forged))[0] == 403
    assert journal_count(srv.landing) == 1


def test_sigkill_while_clients_post_loses_no_acknowledged_callback(server, tmp_path):
    srv = server()
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def client(worker):
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        try:
            for i in range(2000):
                if stop.is_set():
                    return
                pmid = f"w{worker}-{i}"
                try:
                    conn.request("POST", "/infobip/dlr", infobip_body(pmid), {"Content-Type": "application/json"})
                    response = conn.getresponse()
                    response.read()
                    if response.status == 200:
                        with lock:
                            acked.append(pmid)
                except (OSError, http.client.HTTPException):
                    return  # the server died under us: this callback was never acknowledged
        finally:
            conn.close()  # whichever way it ends (an unclosed socket is an error under filterwarnings)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 600 and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(timeout=20)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked) >= 600
    restarted = server()  # a new process on the same journal keeps taking callbacks
    assert restarted.request("POST", "/infobip/dlr", infobip_body("after-restart"))[0] == 200
    con = store.connect(tmp_path / "kill.duckdb")
    for landing in {srv.landing, restarted.landing}:
        load(con=con, landing=landing)
    counts = dict(con.execute("SELECT provider_message_id, count(*) FROM dlr_events GROUP BY 1").fetchall())
    missing = [p for p in acked if counts.get(p) != 1]
    assert not missing, f"{len(missing)} acknowledged callbacks lost or doubled, e.g. {missing[:3]}"
    assert counts.get("after-restart") == 1
