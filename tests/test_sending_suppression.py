"""Fail closed: no consent, opted out, quiet hours — none of them ever reaches any provider."""

from datetime import datetime

import pytest

from fakes.campaign import e164
from fakes.infobip import FakeInfobip
from fakes.smsc import TestSmsc as Smsc
from fakes.twilio import FakeTwilio
from smslab import store
from smslab.campaign import parse_spec
from smslab.sending import send
from smslab.synthetic import audience as synthetic_audience

LATE_EVENING = datetime(2026, 12, 1, 22, 30)  # 23:30 in Paris: quiet hours
NEXT_MORNING = datetime(2026, 12, 2, 9, 0)  # 10:00 in Paris
FAST = 10_000.0


def spec_and_people(tmp_path):
    frame = synthetic_audience(400, seed=3)
    fr = frame[frame["language"] == "fr"].head(40).copy()
    fr["consent_at"] = "2026-01-01T00:00:00"
    fr["consent_source"] = "web_form"
    fr.iloc[:5, fr.columns.get_loc("consent_at")] = None  # no consent
    fr.iloc[:5, fr.columns.get_loc("consent_source")] = None
    fr.to_csv(tmp_path / "audience.csv", index=False)
    numbers = [e164(n) for n in fr["msisdn"]]
    spec = parse_spec(
        {
            "name": "suppression",
            "purpose": "marketing",
            "two_way": True,
            "audience": "audience.csv",
            "default_region": "FR",
            "senders": {"FR": {"type": "short_code", "id": "36180"}},
            "message": {"text": "ACME: -30% aujourd'hui. STOP au 36180"},
        },
        source=str(tmp_path / "spec.yaml"),
        base_dir=tmp_path,
    )
    return spec, {"no_consent": numbers[:5], "opted_out": numbers[5:8], "withdraws": numbers[8], "ok": numbers[9:]}


def opt_out(con, msisdn, at, n):
    con.execute("INSERT INTO consent VALUES (?, ?, '36180', 'opt_out', 'reply', 'STOP', ?)", [f"c{n}", msisdn, at])


class Infobip:
    def __enter__(self):
        self.server = FakeInfobip(api_key="k").__enter__()
        return self

    def env(self, mp):
        mp.setenv("INFOBIP_BASE_URL", self.server.url)
        mp.setenv("INFOBIP_API_KEY", "k")
        return "infobip"

    def reached(self):
        return ["+" + d["to"] for b in self.server.bodies for m in b["messages"] for d in m["destinations"]]

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


class Twilio(Infobip):
    def __enter__(self):
        self.server = FakeTwilio(account_sid="AC" + "3" * 32, auth_token="t").__enter__()
        return self

    def env(self, mp):
        mp.setenv("TWILIO_API_BASE", self.server.url)
        mp.setenv("TWILIO_ACCOUNT_SID", "AC" + "3" * 32)
        mp.setenv("TWILIO_AUTH_TOKEN", "t")
        return "twilio"

    def reached(self):
        return [r.form()["To"][0] for r in self.server.requests if r.body]


class Smpp(Infobip):
    def __enter__(self):
        self.server = Smsc().__enter__()
        return self

    def env(self, mp):
        for k, v in {
            "SMPP_HOST": "127.0.0.1",
            "SMPP_PORT": str(self.server.port),
            "SMPP_SYSTEM_ID": "s",
            "SMPP_PASSWORD": "p",
        }.items():
            mp.setenv(k, v)
        return "smpp"

    def reached(self):
        return ["+" + s["destination_addr"] for s in self.server.submits]


@pytest.mark.parametrize("fake", [Infobip, Twilio, Smpp], ids=["infobip", "twilio", "smpp"])
def test_suppressed_recipients_never_reach_the_provider(tmp_path, monkeypatch, fake):
    spec, people = spec_and_people(tmp_path)
    con = store.connect(tmp_path / "s.duckdb")
    try:
        for n, msisdn in enumerate(people["opted_out"]):
            opt_out(con, msisdn, "2026-11-01", n)
        with fake() as server:
            name = server.env(monkeypatch)
            late = send(spec, con=con, provider=name, now=LATE_EVENING, throughput=FAST)
            assert late["submitted"] == 0 and server.reached() == []  # quiet hours: nothing goes
            assert late["suppressed"] == 8 and late["deferred"] == 32
            opt_out(con, people["withdraws"], "2026-12-01 23:00", 99)  # STOP while it waited
            morning = send(spec, con=con, provider=name, now=NEXT_MORNING, throughput=FAST)
            reached = server.reached()
        assert morning["submitted"] == 31
        assert sorted(reached) == sorted(people["ok"])
        blocked = set(people["no_consent"]) | set(people["opted_out"]) | {people["withdraws"]}
        assert not blocked & set(reached)
    finally:
        con.close()
