"""Analytics on a small hand-built store where every right answer is known.

Campaign c1 (11 recipients; sent 2026-12-01 10:00 UTC):

    who  region variant sender          what happened
    FR1  FR     A       short_code      delivered (20801) after 2 s, replied "Stop." (opt-out)
    FR2  FR     B       short_code      delivered (20801) after 4 s, replied DEAL, converted next day (30 EUR)
    FR3  FR     A       short_code      sent (20810) then undelivered, permanent error
    FR4  FR     B       short_code      expired (20810), temporary error, no intermediate report
    FR5  FR     A       short_code      queued (deferred), never submitted
    FR6  FR     -       -               blocked: no message
    US1  US     A       short_code      delivered (310260) after 6 s; converted 10 days later (outside 7 days)
    US2  US     B       short_code      delivered (310260) after 8 s, replied "please stop texting me"
    US3  US     A       short_code      sent (310260), no final report yet
    US4  US     B       short_code      delivered (311480) after 10 s, replied STOP
    KE1  KE     A       alphanumeric    delivered (63902), replied STOP on the opt-out short code 21456

Campaign c2 reached FR2 again on 12-03, so FR2's conversion on 12-04 belongs to c2 (last touch).
"""

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from smslab import analytics, store
from smslab.conversions import import_conversions
from smslab.masking import mask_msisdn, mask_text
from smslab.stats import compare_proportions, newcombe_interval, two_proportion_ztest, wilson_interval

T0 = datetime(2026, 12, 1, 10, 0, 0)
N = {
    "FR1": "+33612345601",
    "FR2": "+33612345602",
    "FR3": "+33612345603",
    "FR4": "+33612345604",
    "FR5": "+33612345605",
    "FR6": "+33612345606",
    "US1": "+14155550101",
    "US2": "+12015550123",
    "US3": "+16175551234",
    "US4": "+14155550104",
    "KE1": "+254712345678",
}


def _msg(
    who,
    variant,
    status,
    *,
    cid="c1",
    region=None,
    sender=("short_code", None),
    submitted=True,
    price=None,
    currency=None,
    at=T0,
):
    region = region or who[:2]
    sender_id = sender[1] or {"FR": "36180", "US": "45678", "KE": "ACME"}[region]
    return {
        "message_id": f"{cid}-{who}",
        "campaign_id": cid,
        "variant": variant,
        "msisdn": N[who],
        "region": region,
        "sender_type": sender[0],
        "sender_id": sender_id,
        "provider": "simulator",
        "provider_message_id": f"P-{cid}-{who}" if submitted else None,
        "text": "hi",
        "encoding": "GSM-7",
        "segments": 1,
        "scheduled_at": None,
        "submitted_at": at if submitted else None,
        "status": status,
        "status_at": at,
        "error_code": None,
        "price": price if submitted else None,
        "currency": currency if submitted else None,
        "submit_attempted_at": at if submitted else None,
    }


def _ev(who, status, seconds, *, mcc, cid="c1", error=None, permanent=None, raw_status=None, at=T0):
    raw = {"messageId": f"P-{cid}-{who}", "mccMnc": mcc, "to": N[who].lstrip("+")}
    if error:
        raw["error"] = {"id": error[0], "name": error[1], "permanent": permanent}
    import json

    return {
        "event_id": f"{cid}-{who}-{status}-{seconds}-{raw_status}",
        "provider": "infobip",
        "provider_message_id": f"P-{cid}-{who}",
        "status": status,
        "raw_status": raw_status or status.upper(),
        "error_code": str(error[0]) if error else None,
        "permanent": permanent,
        "event_at": at + timedelta(seconds=seconds),
        "received_at": at + timedelta(seconds=seconds + 1),
        "source": "test",
        "raw": json.dumps(raw),
        "operator": mcc,
    }


def _in(who, text, keyword, intent, *, recipient=None, minutes=5):
    return {
        "provider": "infobip",
        "provider_message_id": f"MO-{who}-{minutes}",
        "msisdn": N[who],
        "recipient": recipient or {"FR": "36180", "US": "45678", "KE": "21456"}[who[:2]],
        "text": text,
        "keyword": keyword,
        "intent": intent,
        "campaign_id": "c1",
        "received_at": T0 + timedelta(minutes=minutes),
        "raw": "{}",
    }


def _insert(con, table, rows):
    frame = pd.DataFrame(rows)
    con.register("_rows", frame)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
    con.unregister("_rows")


@pytest.fixture(scope="module")
def con():
    con = store.connect(":memory:")
    _insert(
        con,
        "campaigns",
        [
            {"campaign_id": c, "name": c, "purpose": "marketing", "two_way": True, "spec": "{}", "created_at": T0}
            for c in ("c1", "c2")
        ],
    )
    _insert(
        con,
        "audience",
        [{"campaign_id": "c1", "msisdn": n, "region": w[:2], "valid": True} for w, n in N.items()]
        + [{"campaign_id": "c2", "msisdn": N["FR2"], "region": "FR", "valid": True}],
    )
    eur, usd = dict(price=0.05, currency="EUR"), dict(price=0.01, currency="USD")
    _insert(
        con,
        "messages",
        [
            _msg("FR1", "A", "delivered", **eur),
            _msg("FR2", "B", "delivered", **eur),
            _msg("FR3", "A", "undelivered", **eur),
            _msg("FR4", "B", "expired", **eur),
            _msg("FR5", "A", "queued", submitted=False),
            _msg("US1", "A", "delivered", **usd),
            _msg("US2", "B", "delivered", **usd),
            _msg("US3", "A", "sent", **usd),
            _msg("US4", "B", "delivered", **usd),
            _msg("KE1", "A", "delivered", sender=("alphanumeric", "ACME"), price=0.02, currency="USD"),
            _msg("FR2", "A", "delivered", cid="c2", **eur, at=T0 + timedelta(days=2)),
        ],
    )
    _insert(
        con,
        "dlr_events",
        [
            _ev("FR1", "sent", 1, mcc="20801"),
            _ev("FR1", "delivered", 2, mcc="20801"),
            _ev(
                "FR1", "delivered", 2, mcc="20801", raw_status="DUPLICATE"
            ),  # a second delivered report: first one counts
            _ev("FR2", "delivered", 4, mcc="20801"),
            _ev("FR3", "sent", 1, mcc="20810"),
            _ev("FR3", "undelivered", 30, mcc="20810", error=(1, "EC_UNKNOWN_SUBSCRIBER"), permanent=True),
            _ev("FR4", "expired", 3600, mcc="20810", error=(27, "EC_ABSENT_SUBSCRIBER"), permanent=False),
            _ev("US1", "delivered", 6, mcc="310260"),
            _ev("US2", "delivered", 8, mcc="310260"),
            _ev("US3", "sent", 1, mcc="310260"),
            _ev("US4", "delivered", 10, mcc="311480"),
            _ev("KE1", "delivered", 12, mcc="63902"),
            _ev("FR2", "delivered", 5, mcc="20801", cid="c2", at=T0 + timedelta(days=2)),
        ],
    )
    _insert(
        con,
        "inbound",
        [
            _in("FR1", "Stop.", "STOP", "opt_out"),
            _in("FR2", "deal", "DEAL", "keyword"),
            _in("US2", "please stop texting me", None, "other", minutes=70),
            _in("US2", "call me at +33612345699 or 06 12 34 56 99", None, "other", minutes=75),
            _in("US4", "STOP", "STOP", "opt_out", minutes=6),
            _in("KE1", "STOP", "STOP", "opt_out", minutes=130),
        ],
    )
    _insert(
        con,
        "consent",
        [
            {
                "consent_id": "k1",
                "msisdn": N["KE1"],
                "scope": "ACME",
                "action": "opt_out",
                "source": "reply:infobip",
                "evidence": '{"provider_message_id": "MO-KE1-130"}',
                "recorded_at": T0,
            }
        ],
    )
    _insert(
        con,
        "conversions",
        [
            {
                "msisdn": N["FR2"],
                "converted_at": T0 + timedelta(days=1),
                "value": 30.0,
                "currency": "EUR",
                "reference": "o1",
            },
            {
                "msisdn": N["FR2"],
                "converted_at": T0 + timedelta(days=3),
                "value": 50.0,
                "currency": "EUR",
                "reference": "o2",
            },
            {
                "msisdn": N["US1"],
                "converted_at": T0 + timedelta(days=10),
                "value": 20.0,
                "currency": "USD",
                "reference": "o3",
            },
            {
                "msisdn": N["FR6"],
                "converted_at": T0 + timedelta(days=1),
                "value": 99.0,
                "currency": "EUR",
                "reference": "o4",
            },
        ],
    )
    return con


def test_funnel_counts_each_stage(con):
    f = analytics.funnel(con, "c1").set_index("stage")["count"].to_dict()
    assert f == {
        "targeted": 11,
        "allowed": 10,
        "submitted": 9,
        "sent": 8,
        "delivered": 6,
        "replied": 5,
        "opted_out": 3,
        "converted": 1,
    }


def test_funnel_shares(con):
    # hand-computed from the counts 11, 10, 9, 8, 6, 5, 3, 1 of the table in the module docstring
    f = analytics.funnel(con, "c1").set_index("stage")
    assert f["share_of_targeted"].tolist() == pytest.approx(
        [1, 10 / 11, 9 / 11, 8 / 11, 6 / 11, 5 / 11, 3 / 11, 1 / 11]
    )
    assert f["share_of_previous"].iloc[1:].tolist() == pytest.approx(
        [10 / 11, 9 / 10, 8 / 9, 6 / 8, 5 / 6, 3 / 5, 1 / 3]
    )
    assert pd.isna(f["share_of_previous"].iloc[0])  # nothing before the first stage


def test_funnel_of_an_empty_campaign_is_zeros_without_division_errors():
    empty = store.connect(":memory:")
    frame = analytics.funnel(empty, "nothing")
    assert frame["count"].tolist() == [0] * 8
    assert not np.isinf(frame[["share_of_targeted", "share_of_previous"]].to_numpy(dtype=float)).any()


def test_funnel_by_region_operator_variant_and_hour(con):
    region = analytics.funnel_by(con, "c1", "region").set_index("region")
    assert region.loc[
        "FR", ["targeted", "allowed", "submitted", "sent", "delivered", "replied", "opted_out", "converted"]
    ].tolist() == [6, 5, 4, 3, 2, 2, 1, 1]
    assert region.loc["US", ["submitted", "delivered", "replied", "opted_out", "converted"]].tolist() == [4, 3, 2, 1, 0]
    assert region.loc["FR", "delivery_rate"] == 0.5
    assert region.loc["FR", "delivery_rate_low"] == pytest.approx(0.1500, abs=1e-4)  # Wilson 2/4
    assert region.loc["FR", "delivery_rate_high"] == pytest.approx(0.8500, abs=1e-4)
    assert region.loc["US", "opt_out_rate"] == pytest.approx(1 / 3)
    operator = analytics.funnel_by(con, "c1", "operator").set_index("operator")
    # named from data/operators/mcc_mnc.csv (the brand)
    assert operator.loc["FR Orange", ["submitted", "delivered"]].tolist() == [2, 2]  # 20801
    assert operator.loc["FR SFR", ["submitted", "sent", "delivered"]].tolist() == [2, 1, 0]  # 20810
    assert operator.loc["US T-Mobile", ["submitted", "delivered"]].tolist() == [3, 2]  # 310260
    assert operator.loc["(not sent)", "targeted"] == 1  # FR6
    # FR5: queued, no report yet: the number's original range holder (phonenumbers), labelled so
    assert operator.loc["FR SFR (number range)", "allowed"] == 1
    variant = analytics.funnel_by(con, "c1", "variant").set_index("variant")
    assert variant.loc["A", ["submitted", "delivered", "replied"]].tolist() == [5, 3, 2]
    assert variant.loc["B", ["submitted", "delivered", "replied"]].tolist() == [4, 3, 3]
    hour = analytics.funnel_by(con, "c1", "hour").set_index("hour")
    assert hour.loc["10:00", "submitted"] == 9
    sender = analytics.funnel_by(con, "c1", "sender_type").set_index("sender_type")
    assert sender.loc["alphanumeric", "opted_out"] == 1
    with pytest.raises(ValueError, match="cannot group by"):
        analytics.funnel_by(con, "c1", "msisdn")


def test_delivery_by_has_wilson_intervals(con):
    d = analytics.delivery_by(con, "c1", "region").set_index("region")
    assert d.loc["US", ["submitted", "delivered", "failed", "pending"]].tolist() == [4, 3, 0, 1]
    assert d.loc["FR", ["submitted", "delivered", "failed"]].tolist() == [4, 2, 2]
    lo, hi = wilson_interval(3, 4)
    assert (d.loc["US", "ci_low"], d.loc["US", "ci_high"]) == pytest.approx((float(lo), float(hi)))
    assert d.loc["US", "cost"] == pytest.approx(0.04)


def test_latency_percentiles(con):
    lat = analytics.latency(con, "c1").set_index("region")
    # first delivered report per message: 2, 4, 6, 8, 10, 12 seconds
    assert lat.loc["all", "delivered"] == 6
    assert lat.loc["all", "p50_s"] == pytest.approx(7.0)
    assert lat.loc["all", "p90_s"] == pytest.approx(11.0)
    assert lat.loc["FR", "p50_s"] == pytest.approx(3.0)  # 2 and 4
    assert lat.loc["US", "p99_s"] == pytest.approx(9.96)  # 6, 8, 10


def test_failures_permanent_and_temporary(con):
    f = analytics.failures(con, "c1")
    assert sorted(zip(f["status"], f["reason"], f["kind"], f["messages"], strict=False)) == [
        ("expired", "EC_ABSENT_SUBSCRIBER", "temporary", 1),
        ("undelivered", "EC_UNKNOWN_SUBSCRIBER", "permanent", 1),
    ]
    split = analytics.failure_split(con, "c1").set_index("region")
    assert split.loc["FR", ["permanent", "temporary", "unknown", "failed"]].tolist() == [1, 1, 0, 2]
    assert split.loc["FR", "permanent_share"] == 0.5


def test_optouts_keywords_linkage_and_review(con):
    kw = analytics.optout_keywords(con, "c1")
    assert sorted(zip(kw["keyword"], kw["region"], kw["opt_outs"], strict=False)) == [
        ("STOP", "FR", 1),
        ("STOP", "KE", 1),
        ("STOP", "US", 1),
    ]
    by_sender = analytics.optout_by(con, "c1", "sender_id").set_index("sender_id")
    assert by_sender.loc["ACME", "opt_out_rate"] == 1.0
    assert by_sender.loc["45678", ["delivered", "opted_out"]].tolist() == [3, 1]
    over = analytics.optouts_over_time(con, "c1", "hour")
    assert over["opt_outs"].tolist() == [2, 0, 1]  # 10:05 and 10:06, 11:10-11:15, 12:10
    assert over["cumulative_opt_out_rate"].iloc[-1] == pytest.approx(3 / 6)
    link = analytics.optout_linkage(con, "c1")
    assert link[["region", "sender_id", "received_on", "consent_scope", "linked", "opt_outs"]].values.tolist() == [
        ["KE", "ACME", "21456", "ACME", True, 1]
    ]
    review = analytics.replies_for_review(con, "c1")
    assert review["reason"].tolist() == ["possible opt-out", "free text"]
    assert review["msisdn"].tolist() == [mask_msisdn(N["US2"])] * 2
    text = " ".join(review["text"])
    assert "33612345699" not in text and "12 34 56 99" not in text and "+33 6•• •• •• 99" in text


def test_multipart_receipts_count_through_message_ref():
    """Migration 2: a per-part receipt carries the whole message's id in message_ref."""
    con = store.connect(":memory:")
    _insert(con, "audience", [{"campaign_id": "m", "msisdn": N["FR1"], "region": "FR", "valid": True}])
    _insert(con, "messages", [_msg("FR1", "A", "delivered", cid="m", price=0.1, currency="EUR")])
    _insert(
        con,
        "dlr_events",
        [
            {
                **_ev("FR1", "delivered", 3, mcc="20801", cid="m"),
                "provider_message_id": "part-2",
                "message_ref": "P-m-FR1",
            }
        ],
    )
    assert analytics.funnel_by(con, "m", "operator")["operator"].tolist() == ["FR Orange"]
    assert analytics.latency(con, "m").loc[0, "p50_s"] == pytest.approx(3.0)


def test_reply_intents(con):
    r = analytics.reply_intents(con, "c1")
    assert dict(zip(zip(r["intent"], r["keyword"], strict=False), r["replies"], strict=False)) == {
        ("opt_out", "STOP"): 3,
        ("other", "(free text)"): 2,
        ("keyword", "DEAL"): 1,
    }


def test_conversions_are_attributed_last_touch_within_the_window(con):
    c1 = analytics.attributed_conversions(con, "c1")
    assert c1["value"].tolist() == [30.0]  # o2 went to c2, o3 came after 10 days, o4 never reached
    c2 = analytics.attributed_conversions(con, "c2")
    assert c2["reference"].tolist() == ["o2"]
    wide = analytics.attributed_conversions(con, "c1", attribution_days=14)
    assert sorted(wide["reference"]) == ["o1", "o3"]
    assert analytics.funnel(con, "c1", attribution_days=14).set_index("stage").loc["converted", "count"] == 2
    assert all("•" in m for m in wide["msisdn"])


def test_cost_per_outcome_per_currency(con):
    cost = analytics.cost_per_outcome(con, "c1").set_index("currency")
    assert cost.loc[
        "EUR", ["submitted", "cost", "delivered", "replies", "conversions", "revenue"]
    ].tolist() == pytest.approx([4, 0.20, 2, 2, 1, 30.0])
    assert cost.loc["EUR", "cost_per_delivered"] == pytest.approx(0.10)
    assert cost.loc["EUR", "cost_per_conversion"] == pytest.approx(0.20)
    assert cost.loc["USD", "cost"] == pytest.approx(0.06)
    assert cost.loc["USD", "cost_per_reply"] == pytest.approx(0.015)  # 4 replies: US2 twice, US4, KE1
    by_region = analytics.cost_per_outcome(con, "c1", "region").set_index("region")
    assert by_region.loc["KE", "cost_per_delivered"] == pytest.approx(0.02)


def test_ab_test_on_the_store(con):
    ab = analytics.ab_test(con, "c1", "replied")
    t = ab.table.set_index("group")
    assert t.loc["A", ["trials", "successes"]].tolist() == [3, 2]  # FR1, US1, KE1 delivered; FR1, KE1 replied
    assert t.loc["B", ["trials", "successes"]].tolist() == [3, 3]
    assert ab.test == "Fisher's exact test"
    assert ab.p_value == pytest.approx(1.0)
    with pytest.raises(ValueError):
        analytics.ab_test(con, "c1", "clicks")


# ---- statistics against published and hand-computed values ------------------------------------


def test_wilson_matches_newcombe_1998():
    lo, hi = wilson_interval([81, 15, 0, 1], [263, 148, 20, 29])
    # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3
    assert lo.round(4).tolist() == [0.2553, 0.0624, 0.0, 0.0061]
    assert hi.round(4).tolist() == [0.3662, 0.1605, 0.1611, 0.1718]
    assert np.isnan(wilson_interval(0, 0)[0])


def test_newcombe_difference_interval_matches_the_paper():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 − 48/80, method 10
    lo, hi = newcombe_interval(48, 80, 56, 70)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_two_proportion_z_test_by_hand():
    # pooled p = 0.375, se = sqrt(0.375 × 0.625 × 2/100) = 0.068465, z = 0.15 / se
    z, p = two_proportion_ztest(30, 100, 45, 100)
    assert z == pytest.approx(2.19089, abs=1e-5)
    assert p == pytest.approx(0.028459, abs=1e-6)
    c = compare_proportions([30, 45], [100, 100], ["A", "B"])
    assert c.test == "two-proportion z-test" and c.p_value == pytest.approx(p)  # scipy's chi-square agrees
    assert c.significant
    assert c.table.loc[1, "diff"] == pytest.approx(0.15)
    assert c.table.loc[1, "diff_ci_low"] > 0
    assert "significant difference" in c.summary() and "B" in c.summary()


def test_chi_square_for_three_variants_by_hand():
    # expected 20 successes / 80 failures per group: χ² = 100/20 + 100/20 + 100/80 + 100/80 = 12.5, 2 dof
    c = compare_proportions([10, 20, 30], [100, 100, 100], ["A", "B", "C"])
    assert c.test == "chi-square test"
    assert c.statistic == pytest.approx(12.5)
    assert c.p_value == pytest.approx(np.exp(-12.5 / 2))
    assert (c.table["p_value_holm"].iloc[1:] >= c.table["p_value"].iloc[1:]).all()


def test_fisher_exact_for_small_counts_by_hand():
    # hypergeometric, 10 + 10 with 6 successes: P(1) = 2520/38760; two-sided sums P(0), P(1), P(5), P(6)
    c = compare_proportions([1, 5], [10, 10])
    assert c.test == "Fisher's exact test"
    assert c.p_value == pytest.approx(5460 / 38760)
    assert not c.significant


def test_no_difference_when_nobody_succeeds_and_bad_input():
    assert compare_proportions([0, 0], [10, 10]).p_value == 1.0
    with pytest.raises(ValueError):
        compare_proportions([11], [10])


# ---- masking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number, masked",
    [
        ("+33612345678", "+33 6•• •• •• 78"),
        ("+14155552671", "+1 4••• •• •• 71"),
        ("+254712345678", "+254 7•• •• •• 78"),
        ("+447700900123", "+44 7••• •• •• 23"),
    ],
)
def test_mask_msisdn(number, masked):
    assert mask_msisdn(number) == masked


def test_mask_text_hides_numbers_but_not_dates_or_short_codes():
    out = mask_text("Text 36180, call +44 7700 900123 or 06 12 34 56 78 before 2026-12-01")
    assert out == "Text 36180, call +44 7••• •• •• 23 or 0•••••••78 before 2026-12-01"


# ---- conversions import -----------------------------------------------------------------------


def test_import_conversions_quarantines_bad_rows_and_is_idempotent(tmp_path):
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "msisdn,time,value,reference\n"
        "06 12 34 56 02,2026-12-02T10:00:00Z,30,o1\n"
        "+1 415 555 0101,2026-12-02 11:00,20.5,o2\n"
        "12,2026-12-02T10:00:00Z,5,o3\n"
        "0612345603,yesterday,5,o4\n"
        "0612345604,2026-12-02T10:00:00+01:00,abc,o5\n"
        "0612345605,2026-12-02T10:00:00Z,5\n",
        encoding="utf-8",
    )
    con = store.connect(":memory:")
    first = import_conversions(csv, con=con, default_region="FR", currency="eur")
    assert (first["loaded"], first["duplicates"], first["quarantined"]) == (2, 0, 4)
    rows = con.execute("SELECT msisdn, converted_at, value, currency FROM conversions ORDER BY value").fetchall()
    assert rows == [
        ("+14155550101", datetime(2026, 12, 2, 11, 0), 20.5, "EUR"),
        ("+33612345602", datetime(2026, 12, 2, 10, 0), 30.0, "EUR"),
    ]
    reasons = [r[0] for r in con.execute("SELECT reason FROM quarantine ORDER BY location").fetchall()]
    assert any(r.startswith("msisdn '12'") for r in reasons)
    assert any(r.startswith("time 'yesterday'") for r in reasons)
    assert any(r.startswith("value 'abc'") for r in reasons)
    assert any("expected 4 fields, got 3" in r for r in reasons)
    assert all(loc.startswith(str(csv)) for (loc,) in con.execute("SELECT location FROM quarantine").fetchall())
    again = import_conversions(csv, con=con, default_region="FR", currency="EUR")
    assert (again["loaded"], again["duplicates"], again["new_quarantined"]) == (0, 2, 0)
    assert store.scalar(con, "SELECT count(*) FROM conversions") == 2


def test_import_conversions_names_missing_columns(tmp_path):
    from smslab.errors import InputError

    bad = tmp_path / "bad.csv"
    bad.write_text("phone,amount\n+33612345678,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column.*time"):
        import_conversions(bad, con=store.connect(":memory:"))


def test_an_operator_code_missing_from_the_table_is_shown_as_its_code_and_no_report_as_unknown():
    con = store.connect(":memory:")
    _insert(
        con,
        "audience",
        [{"campaign_id": "u", "msisdn": N[w], "region": w[:2], "valid": True} for w in ("FR1", "FR2")]
        + [{"campaign_id": "u", "msisdn": "+15555550100", "region": "US", "valid": True}],
    )
    _insert(
        con,
        "messages",
        [
            _msg("FR1", "A", "delivered", cid="u"),
            _msg("FR2", "A", "sent", cid="u"),
            {**_msg("US4", "A", "submitted", cid="u"), "msisdn": "+15555550100"},
        ],
    )
    _insert(
        con, "dlr_events", [_ev("FR1", "delivered", 3, mcc="20877", cid="u"), _ev("FR2", "sent", 3, mcc=None, cid="u")]
    )
    got = set(analytics.funnel_by(con, "u", "operator")["operator"])
    # FR2's report names no operator: its number's range holder; +1 555 has no range holder
    assert got == {"FR 20877", "FR SFR (number range)", "US unknown"}


def test_migration_5_reads_the_operator_of_reports_loaded_before_it(tmp_path):
    import json

    path = tmp_path / "old.duckdb"
    con = store.connect(path)
    con.execute("DELETE FROM schema_version WHERE version >= 5")
    con.execute("ALTER TABLE dlr_events DROP COLUMN operator")
    body = {"results": [{"messageId": "a", "mccMnc": "20801"}]}
    rows = [
        ("e1", "infobip", json.dumps(body)),
        ("e2", "infobip", json.dumps({"messageId": "b", "mccMnc": "63902"})),
        ("e3", "vonage", json.dumps({"messageId": "c", "network-code": "23410"})),
        ("e4", "infobip", json.dumps({"messageId": "d", "mccMnc": "n/a"})),
        ("e5", "twilio", "{}"),
    ]
    con.executemany("INSERT INTO dlr_events (event_id, provider, raw) VALUES (?, ?, ?)", rows)
    con.close()
    con = store.connect(path)
    got = dict(con.execute("SELECT event_id, operator FROM dlr_events").fetchall())
    assert got == {"e1": "20801", "e2": "63902", "e3": "23410", "e4": None, "e5": None}


def test_cost_counts_real_prices_before_the_indicative_sheet_and_says_which():
    from smslab.pricing import Price, PriceSheet

    con = store.connect(":memory:")
    who = ("FR1", "FR2", "FR3", "FR4")
    _insert(con, "audience", [{"campaign_id": "p", "msisdn": N[w], "region": "FR", "valid": True} for w in who])
    _insert(
        con,
        "messages",
        [
            {**_msg("FR1", "A", "delivered", cid="p", price=0.024, currency="EUR"), "price_source": "report"},
            {**_msg("FR2", "A", "delivered", cid="p", price=0.03, currency="EUR"), "price_source": "provider"},
            {**_msg("FR3", "A", "sent", cid="p"), "segments": 2},  # no real price: the sheet's
            {**_msg("FR4", "A", "sent", cid="p", sender=("alphanumeric", "ACME"))},  # not in the sheet either
        ],
    )
    sheet = PriceSheet(
        prices={
            ("FR", "short_code"): Price(
                "FR", "short_code", currency="EUR", price_per_segment=0.05, carrier_surcharge_per_segment=0.01
            )
        }
    )
    cost = analytics.cost_per_outcome(con, "p", prices=sheet).set_index("currency")
    row = cost.loc["EUR"]
    assert row[["submitted", "priced_by_reports", "priced_by_provider", "priced_by_sheet"]].tolist() == [3, 1, 1, 1]
    assert row["cost"] == pytest.approx(0.024 + 0.03 + 2 * 0.06)
    assert row["price_basis"] == "1 provider reports; 1 provider answers; 1 indicative sheet"
    unknown = cost[cost.index.isna()].iloc[0]
    assert unknown["unpriced"] == 1 and unknown["cost"] == 0 and unknown["price_basis"] == "1 no price known"


def test_a_queued_message_with_a_preassigned_id_is_not_submitted():
    """The simulator assigns provider ids when it writes the outbox; a message deferred by quiet
    hours is still queued: not submitted, not sent; by operator it counts as allowed under its
    number's range holder (no report names a network yet)."""
    con = store.connect(":memory:")
    _insert(
        con, "audience", [{"campaign_id": "q", "msisdn": N[w], "region": "FR", "valid": True} for w in ("FR1", "FR2")]
    )
    queued = {**_msg("FR2", "A", "queued", cid="q"), "submitted_at": None, "submit_attempted_at": None}
    _insert(con, "messages", [_msg("FR1", "A", "delivered", cid="q"), queued])
    _insert(con, "dlr_events", [_ev("FR1", "delivered", 3, mcc="20801", cid="q")])
    stages = analytics.funnel(con, "q").set_index("stage")["count"].to_dict()
    assert (stages["allowed"], stages["submitted"], stages["sent"], stages["delivered"]) == (2, 1, 1, 1)
    by_operator = analytics.funnel_by(con, "q", "operator").set_index("operator")
    assert by_operator.loc["FR Orange", ["allowed", "submitted", "delivered"]].tolist() == [1, 1, 1]
    waiting = [label for label in by_operator.index if label.endswith("(number range)")]
    assert len(waiting) == 1 and by_operator.loc[waiting[0], ["allowed", "submitted"]].tolist() == [1, 0]


def test_a_rejected_conversion_is_quarantined_exactly_as_written(tmp_path):
    """Quoting, spacing and a quoted line break stay as in the file (not the fields joined again)."""
    csv = tmp_path / "orders.csv"
    written = '"0612 34 56 03", "yesterday" ,5,"order ""7"",\nsecond line"'
    csv.write_text("msisdn,time,value,reference\r\n" + written + "\r\n0612345604,2026-12-02T10:00:00Z,5,o4\r\n")
    con = store.connect(":memory:")
    result = import_conversions(csv, con=con, default_region="FR", currency="EUR")
    assert (result["loaded"], result["quarantined"]) == (1, 1)
    assert con.execute("SELECT raw, location FROM quarantine").fetchall() == [(written, f"{csv}:3")]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("default_region", "XX", "default_region 'XX': expected a two-letter region code"),
        ("currency", "euros", "currency 'euros': expected a three-letter currency code"),
    ],
)
def test_import_conversions_refuses_a_bad_region_or_currency_before_reading(tmp_path, option, value, message):
    # the library checks its own arguments (a notebook gets the refusal, not every row quarantined)
    from smslab.errors import InputError

    con = store.connect(":memory:")
    with pytest.raises(InputError, match=message):
        import_conversions(tmp_path / "not-read.csv", con=con, **{option: value})
    assert store.scalar(con, "SELECT count(*) FROM quarantine") == 0
