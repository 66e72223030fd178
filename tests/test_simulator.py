"""The simulator: deterministic, idempotent, and speaking a real provider's wire format."""

import json
from datetime import datetime

import pandas as pd

from smslab import store
from smslab.providers import OutboundMessage, get_provider
from smslab.receiving.infobip import parse_dlr, parse_inbound
from smslab.receiving.journal import journal_files
from smslab.receiving.journal_load import load


def batch(n=300, region="FR", two_way=True, opt_out_short_code=None, sender="36180"):
    return [
        OutboundMessage(
            message_id=f"m{i}",
            campaign_id="c",
            msisdn=f"+336123{i:05d}",
            region=region,
            sender_type="short_code",
            sender_id=sender,
            text="hi",
            encoding="GSM-7",
            segments=1,
            scheduled_at=datetime(2026, 12, 1, 14),
            two_way=two_way,
            opt_out_short_code=opt_out_short_code,
        )
        for i in range(n)
    ]


def journal_lines(landing):
    return sorted(line for path in journal_files(landing) for line in path.read_text().splitlines())


def strip_ids(lines):
    return sorted(json.dumps({k: v for k, v in json.loads(line).items() if k != "id"}) for line in lines)


def test_same_seed_same_traffic_other_seed_other_traffic(tmp_path):
    for name, seed in [("a", 1), ("b", 1), ("c", 2)]:
        get_provider("simulator", seed=seed, landing=tmp_path / name, keywords=["DEAL"]).submit(batch())
    a, b, c = (strip_ids(journal_lines(tmp_path / n)) for n in "abc")
    assert a == b
    assert a != c


def test_every_report_parses_with_the_infobip_parser_and_shows_real_network_behaviour(tmp_path):
    get_provider("simulator", seed=5, landing=tmp_path, keywords=["DEAL"], reply_rate=0.5).submit(batch(600))
    events, replies = [], []
    for line in journal_lines(tmp_path):
        env = json.loads(line)
        parse = parse_dlr if env["kind"] == "dlr" else parse_inbound
        e, r, problems = parse(json.loads(env["body"]))
        assert problems == []
        events += e
        replies += r
    statuses = {e["status"] for e in events}
    assert {"sent", "delivered"} <= statuses and statuses & {"undelivered", "expired", "rejected"}
    ids = [(e["provider_message_id"], e["raw_status"], e["event_at"]) for e in events]
    assert len(ids) > len(set(ids))  # some reports are delivered twice
    texts = {r["text"].strip().upper() for r in replies}
    assert {"STOP", "DEAL"} <= texts or {"ARRET", "DEAL"} <= texts


def test_out_of_order_reports_exist_and_the_loader_still_ends_final(tmp_path):
    sim = get_provider("simulator", seed=9, landing=tmp_path / "l", out_of_order_rate=1.0)
    results = sim.submit(batch(100))
    con = store.connect(tmp_path / "s.duckdb")
    for r in results:
        con.execute(
            "INSERT INTO messages (message_id, provider_message_id, status) VALUES (?, ?, 'submitted')",
            [r.message_id, r.provider_message_id],
        )
    load(con=con, landing=tmp_path / "l")
    statuses = dict(con.execute("SELECT status, count(*) FROM messages GROUP BY 1").fetchall())
    assert statuses.get("delivered", 0) > 70
    assert "submitted" not in statuses  # every message got at least one report


def test_resubmitting_is_idempotent(tmp_path):
    sim = get_provider("simulator", seed=4, landing=tmp_path / "l")
    first = sim.submit(batch(50))
    second = sim.submit(batch(50))
    assert [r.provider_message_id for r in first] == [r.provider_message_id for r in second]
    con = store.connect(tmp_path / "s.duckdb")
    counts = load(con=con, landing=tmp_path / "l")
    stored = store.scalar(con, "SELECT (SELECT count(*) FROM dlr_events) + (SELECT count(*) FROM inbound)")
    assert counts["loaded"] == stored
    assert counts["duplicates"] >= counts["loaded"]  # the second submission added nothing new


def test_alphanumeric_sender_gets_opt_outs_only_through_its_opt_out_short_code(tmp_path):
    sim = get_provider("simulator", seed=2, landing=tmp_path, opt_out_short_code_rate=0.5)
    sim.submit(batch(200, region="KE", two_way=False, opt_out_short_code="21456", sender="ACME"))
    replies = []
    for line in journal_lines(tmp_path):
        env = json.loads(line)
        if env["kind"] == "inbound":
            replies += parse_inbound(json.loads(env["body"]))[1]
    assert replies and {r["recipient"] for r in replies} == {"21456"}
    assert {r["text"] for r in replies} == {"STOP"}


def test_infobip_times_match_numpy_formatting_over_centuries():
    import numpy as np

    from smslab.providers.simulator_wire import _infobip_times

    rng = np.random.default_rng(5)
    moments = np.datetime64("1900-01-01T00:00:00", "us") + (rng.random(20_000) * 6e15).astype("int64").astype(
        "timedelta64[us]"
    )
    moments = np.concatenate(
        [
            moments,
            np.array(
                ["2000-02-29T23:59:59.999999", "2024-12-31T00:00:00", "1970-01-01T00:00:00.001", "2100-03-01T12:00:00"],
                dtype="datetime64[us]",
            ),
        ]
    )
    expected = [t + "+0000" for t in np.datetime_as_string(moments.astype("datetime64[ms]"), unit="ms")]
    assert _infobip_times(moments).to_pylist() == expected


def test_writing_behind_gives_the_same_journal_once_flushed(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "message_id": m.message_id,
                "campaign_id": m.campaign_id,
                "msisdn": m.msisdn,
                "region": m.region,
                "sender_id": m.sender_id,
                "segments": m.segments,
                "scheduled_at": m.scheduled_at,
                "two_way": m.two_way,
                "opt_out_short_code": m.opt_out_short_code,
            }
            for m in batch(900)
        ]
    )
    now = get_provider("simulator", seed=3, landing=tmp_path / "now", keywords=["DEAL"])
    behind = get_provider("simulator", seed=3, landing=tmp_path / "behind", keywords=["DEAL"])
    for part in (frame.iloc[:400], frame.iloc[400:]):
        now.submit_frame(part)
        behind.submit_frame(part, wait=False)
    behind.flush()
    expected = strip_ids(journal_lines(tmp_path / "now"))
    assert len(expected) > 900 and strip_ids(journal_lines(tmp_path / "behind")) == expected
    behind.close()


# ---- operators: the range holder's network, per-operator rates (issue #15) ----------------------

# phonenumbers' range holder → the operator the report must name (operators.name of its mccMnc);
# written out by hand, from the operators' histories (Orange UK is EE, E-Plus is O2 Germany, …)
EXPECTED = {
    "FR": {"Orange France": "Orange", "SFR": "SFR", "Bouygues": "Bouygues", "Free Mobile": "Free"},
    "GB": {"O2": "O2 (UK)", "Three": "3", "Vodafone": "Vodafone UK", "EE": "EE", "Orange": "EE"},
    "US": {"Onvoy": "Onvoy Spectrum, LLC"},
    "KE": {"Safaricom": "Safaricom", "Airtel": "Airtel", "Telkom": "Telkom"},
    "BR": {"Vivo": "Vivo", "TIM": "TIM", "Claro": "Claro", "Oi": "Oi", "Telemig Celular": "Vivo"},
    "ES": {"Movistar": "Movistar", "Vodafone": "Vodafone", "Orange": "Orange", "Yoigo": "Yoigo"},
    "DE": {"Vodafone": "Vodafone", "T-Mobile": "Telekom", "Eplus": "O2", "O2": "O2"},
    "IN": {
        "Airtel": "AirTel",
        "Idea": "Vi India",
        "Vodafone": "Vi India",
        "Reliance Jio": "Jio",
        "BSNL MOBILE": "BSNL Mobile",
    },
}


def numbers_held_by(region, holders, count):
    """`count` E.164 mobile numbers of `region` spread over the carrier prefixes of `holders`
    (each a valid number whose range holder, by smslab.operators.range_holders, is that holder)."""
    import phonenumbers
    from phonenumbers.carrierdata import CARRIER_DATA

    from smslab.operators import range_holders

    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    digits = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:]
    cc = str(example.country_code)
    prefixes = {
        h: sorted(
            k for k, v in CARRIER_DATA.items() if k.startswith(cc) and v.get("en") == h and len(k) <= len(digits) - 3
        )
        for h in sorted(holders)
    }
    out = []
    for i in range(count * 2):  # round robin over the holders, then over each one's prefixes
        mine = prefixes[sorted(holders)[i % len(holders)]]
        prefix = mine[(i // len(holders) * 31) % len(mine)]
        tail = f"{(i * 7919) % 10 ** (len(digits) - len(prefix)):0{len(digits) - len(prefix)}d}"
        out.append("+" + prefix + tail)
    held = range_holders(out)
    held = held[held["range_holder"].isin(holders)]
    held = held[[phonenumbers.region_code_for_number(phonenumbers.parse(n)) == region for n in held["msisdn"]]]
    assert len(held) >= count, (region, len(held))
    return dict(zip(held["msisdn"][:count], held["range_holder"][:count], strict=True))


def messages(numbers, region, start=0):
    return [
        OutboundMessage(
            message_id=f"{region}{start + i}",
            campaign_id="c",
            msisdn=n,
            region=region,
            sender_type="short_code",
            sender_id="36180",
            text="hi",
            encoding="GSM-7",
            segments=1,
            scheduled_at=datetime(2026, 12, 1, 14),
            two_way=False,
        )
        for i, n in enumerate(numbers)
    ]


def reports(landing):
    """Every delivery report in the journal, as the Infobip result dict."""
    out = []
    for line in journal_lines(landing):
        env = json.loads(line)
        if env["kind"] == "dlr":
            out += json.loads(env["body"])["results"]
    return out


def test_every_report_names_the_network_that_holds_the_numbers_range(tmp_path):
    from smslab.operators import name

    held, batch_ = {}, []
    for region, holders in EXPECTED.items():
        numbers = numbers_held_by(region, set(holders), 12 * len(holders))
        held.update({n: (region, h) for n, h in numbers.items()})
        batch_ += messages(list(numbers), region)
    assert set(held.values()) == {(r, h) for r, hs in EXPECTED.items() for h in hs}  # every holder occurs
    get_provider("simulator", seed=3, landing=tmp_path).submit(batch_)
    got = reports(tmp_path)
    reported = {r["to"] for r in got}  # (a message may have no report: a failure the operator never reports)
    assert reported <= {n.lstrip("+") for n in held} and len(reported) > 0.9 * len(held)
    wrong = [
        (r["to"], held["+" + r["to"]], r["mccMnc"], name(r["mccMnc"], held["+" + r["to"]][0]))
        for r in got
        if name(r["mccMnc"], held["+" + r["to"]][0]) != EXPECTED[held["+" + r["to"]][0]][held["+" + r["to"]][1]]
    ]
    assert wrong == []


def test_a_number_without_carrier_data_gets_the_countrys_weighted_operators(tmp_path):
    from smslab.operators import range_holders
    from smslab.providers.simulated_network import NETWORKS

    numbers = [f"+1201555{i:04d}" for i in range(3000)]  # US ranges have no carrier data
    assert range_holders(numbers)["range_holder"].isna().all()
    get_provider("simulator", seed=8, landing=tmp_path).submit(messages(numbers, "US"))
    first = {}
    for r in reports(tmp_path):
        first.setdefault(r["messageId"], r["mccMnc"])
    weights = dict(NETWORKS["US"][1])
    shares = pd.Series(first).value_counts(normalize=True)
    assert set(shares.index) == set(weights)
    for code, weight in weights.items():  # 3000 draws: a share within 0.04 of its weight (> 4 sd)
        assert abs(shares[code] - weight) < 0.04, (code, shares[code], weight)


def test_same_seed_same_operators_and_outcomes_and_the_range_holder_does_not_depend_on_the_seed(tmp_path):
    held = numbers_held_by("FR", set(EXPECTED["FR"]), 200)
    batch_ = messages(list(held), "FR") + messages([f"+1201555{i:04d}" for i in range(200)], "US", start=500)

    def run(seed, name):
        get_provider("simulator", seed=seed, landing=tmp_path / name).submit(batch_)
        return sorted((r["messageId"], r["mccMnc"], r["status"]["name"], r["doneAt"]) for r in reports(tmp_path / name))

    a, b, c = run(1, "a"), run(1, "b"), run(2, "c")
    assert a == b and a != c
    ops = {seed: {r[0].split("-", 1)[1]: r[1] for r in run_} for seed, run_ in ((1, a), (2, c))}
    fr = [m for m in ops[1] if m.startswith("FR")]
    us = [m for m in ops[1] if m.startswith("US")]
    assert all(ops[1][m] == ops[2][m] for m in fr)  # the number's network, whatever the seed
    assert any(ops[1][m] != ops[2][m] for m in us)  # a weighted draw: the seed changes it


def test_per_operator_delivery_rates_and_latencies_are_the_configured_ones(tmp_path):
    """~20k French messages over the four networks' ranges: each operator's delivered share is
    within 0.02 of its configured rate (about 4.5 standard deviations at 5,000 messages), and its
    median delivery latency within 15% of 1.5 s plus its configured median."""
    from smslab.providers.simulated_network import OPERATORS

    held = numbers_held_by("FR", set(EXPECTED["FR"]), 20_000)
    get_provider("simulator", seed=6, landing=tmp_path, duplicate_rate=0.0).submit(messages(list(held), "FR"))
    frame = pd.DataFrame(
        [
            {
                "id": r["messageId"],
                "op": r["mccMnc"],
                "status": r["status"]["name"],
                "latency": (pd.Timestamp(r["doneAt"]) - pd.Timestamp(r["sentAt"])).total_seconds(),
            }
            for r in reports(tmp_path)
        ]
    )
    per_message = frame.groupby("id").agg(
        op=("op", "first"), delivered=("status", lambda s: (s == "DELIVERED_TO_HANDSET").any())
    )
    observed = per_message.groupby("op")["delivered"].agg(["mean", "size"])
    assert set(observed.index) == {"20801", "20810", "20815", "20820"} and observed["size"].min() > 2500
    for code, row in observed.iterrows():
        assert abs(row["mean"] - OPERATORS[code][0]) < 0.02, (code, row["mean"], OPERATORS[code][0])
    # the rates differ as configured: Orange (0.97) above Free (0.90) by more than both tolerances
    assert observed.loc["20801", "mean"] - observed.loc["20815", "mean"] > 0.04
    handset = frame[frame["status"] == "DELIVERED_TO_HANDSET"].groupby("op")["latency"].median()
    for code, median in handset.items():
        expected = 1.5 + OPERATORS[code][1]
        assert abs(median - expected) < 0.15 * expected, (code, median, expected)


def test_the_demo_funnel_by_operator_names_each_numbers_network(tmp_path):
    """The demo's "by operator" rows are `<country> <operator>` from the MCC/MNC table: no
    `<country> unknown` (every demo country's operators are in the table, and every simulated
    message has a report naming its network), no guess from the number range, and each message's
    operator is its number's range holder where that holder is in the table."""
    from smslab import analytics, operators
    from smslab.demo import demo

    result = demo(
        messages=150,
        seed=11,
        db=tmp_path / "d.duckdb",
        landing=tmp_path / "l",
        output_dir=tmp_path / "r",
        reports=False,
    )
    con = store.connect(result["db"], read_only=True)
    by = analytics.funnel_by(con, result["campaign_id"], "operator")
    sent = by[by["operator"] != analytics.NOT_SENT]["operator"]
    regions = {r[0] for r in con.execute("SELECT DISTINCT region FROM messages").fetchall()}
    assert regions and regions <= set(operators.table()["country_code"])
    assert len(sent) > 8 and not sent.str.endswith((" unknown", "(number range)")).any(), sent.tolist()
    assert sent.str.casefold().is_unique, sent.tolist()  # one row per operator ('IN AirTel', not also 'IN Airtel')
    rows = con.execute("""SELECT m.msisdn, m.region, max(d.operator) FROM messages m JOIN dlr_events d
                          ON coalesce(d.message_ref, d.provider_message_id) = m.provider_message_id
                          GROUP BY 1, 2""").fetchall()
    assert len(rows) == store.scalar(con, "SELECT count(*) FROM messages WHERE provider_message_id IS NOT NULL")
    holders = operators.range_holders(r[0] for r in rows).set_index("msisdn")["range_holder"]
    names = {(region, operators.name(code, region)) for _, region, code in rows}
    assert {f"{region} {name}" for region, name in names} == set(sent)
    checked = 0
    for msisdn, region, code in rows:
        expected = operators.code_for(holders.get(msisdn), region)
        if expected is not None:
            assert operators.name(code, region) == operators.name(expected, region), (msisdn, holders.get(msisdn))
            checked += 1
    assert checked > len(rows) / 2
