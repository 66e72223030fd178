"""The plain-words summaries say what the tables below them say: every figure is checked against
the library results the reports draw their tables from."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from smslab import analytics, pricing, reporting, store
from smslab.demo import demo
from smslab.reporting.views import narrative, planning
from smslab.stats import compare_proportions, wilson_interval


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("narrative")
    result = demo(messages=150, seed=11, reports=False, db=root / "demo.duckdb", landing=root / "landing")
    con = store.connect(result["db"], read_only=True)
    yield con, result["campaign_id"], result["db"]
    con.close()


def _pct(text: str) -> float:
    return float(text.rstrip("%")) / 100


def test_delivery_summary_matches_the_funnel(demo_db):
    con, cid, _ = demo_db
    kpi = analytics.summary(con, cid)
    by_region = analytics.funnel_by(con, cid, "region")
    ab = analytics.ab_test(con, cid, "replied")
    text = narrative.delivery_summary(kpi, by_region, ab)
    funnel = analytics.funnel(con, cid).set_index("stage")["count"]

    m = re.search(r"Delivered ([\d,]+) of ([\d,]+) messages sent out \(([\d.]+%), 95% CI (\d+)–(\d+)%\)", text)
    assert m, text
    delivered, submitted = int(m[1].replace(",", "")), int(m[2].replace(",", ""))
    assert (delivered, submitted) == (funnel["delivered"], funnel["submitted"])
    assert m[3] == f"{delivered / submitted:.1%}"
    low, high = (float(x) for x in wilson_interval(delivered, submitted))
    assert int(m[4]) <= low * 100 and int(m[5]) >= high * 100 and int(m[5]) - high * 100 < 1
    not_sent = funnel["targeted"] - funnel["allowed"]
    assert (f"{not_sent:,} of {funnel['targeted']:,} recipients were not sent" in text) == (not_sent > 0)

    m = re.search(r"([\d,]+) replied \(([\d.]+%) of delivered\) and ([\d,]+) opted out \(([\d.]+%)\)", text)
    assert m, text
    assert int(m[1]) == funnel["replied"] and int(m[3]) == funnel["opted_out"]
    assert m[2] == f"{funnel['replied'] / delivered:.1%}" and m[4] == f"{funnel['opted_out'] / delivered:.1%}"
    if funnel["opted_out"]:
        top = by_region[by_region["opted_out"] > 0].sort_values(["opt_out_rate", "opted_out"], ascending=False).iloc[0]
        assert f"highest in {top['region']} ({top['opt_out_rate']:.1%})" in text

    verdict = "is significantly different" if ab.significant else "is not significantly different"
    assert verdict in text and f"p = {ab.p_value:.2g}" in text
    for group, rate in zip(ab.table["group"], ab.table["rate"], strict=True):
        assert f"{group}'s reply rate ({rate:.1%})" in text or f"from {group}'s ({rate:.1%}" in text
    for currency, cost in kpi["cost"].items():
        assert f"{cost:,.2f} {currency}" in text


def test_optout_summary_matches_the_tables(demo_db):
    con, cid, _ = demo_db
    kpi = analytics.summary(con, cid)
    by_region = analytics.optout_by(con, cid, "region")
    keywords = analytics.optout_keywords(con, cid)
    text = narrative.optout_summary(kpi, by_region, keywords, analytics.optout_linkage(con, cid))
    m = re.match(r"([\d,]+) of ([\d,]+) people who received the message opted out \(([\d.]+%)", text)
    assert m, text
    assert int(m[1]) == by_region["opted_out"].sum() == kpi["opted_out"]
    assert int(m[2]) == by_region["delivered"].sum() == kpi["delivered"]
    assert f"and {kpi['replied']:,} replied" in text
    if kpi["opted_out"]:
        top = by_region[by_region["opted_out"] > 0].sort_values(["opt_out_rate", "opted_out"], ascending=False).iloc[0]
        assert f"highest in {top['region']} ({top['opt_out_rate']:.1%})" in text
        word = keywords.groupby("keyword")["opt_outs"].sum().idxmax()
        assert f"opt-out word is {word}" in text


def test_setup_summary_matches_the_decisions(demo_db):
    _, _, db = demo_db
    spec = planning.campaign_spec("", db=db)
    result = planning.preflight(spec, db=db)
    counts, decisions = result.counts(), planning.decisions_by_country(result)
    findings = reporting.findings_frame(result)
    text = narrative.setup_summary(counts, findings, decisions)
    m = re.match(
        r"Of ([\d,]+) recipients, ([\d,]+) can be sent to now \(\d+%\), ([\d,]+) wait for their next "
        r"allowed time and ([\d,]+) are blocked",
        text,
    )
    assert m, text
    assert [int(x) for x in m.groups()] == [
        decisions["total"].sum(),
        decisions["allowed"].sum(),
        decisions["deferred"].sum(),
        decisions["blocked"].sum(),
    ]
    if counts["blocked"]:
        worst = decisions.sort_values(["blocked", "region"], ascending=[False, True]).iloc[0]
        assert f"most in {worst['region']} ({worst['blocked']})" in text
    blocking = int((findings["severity"] == "block").sum())
    assert ("Nothing stops the campaign." in text) == (blocking == 0)
    warnings = int((findings["severity"] == "warn").sum())
    assert (f"{warnings} warning" in text) == (warnings > 0)


def test_cost_summary_names_the_recommended_senders(demo_db):
    _, _, db = demo_db
    spec = planning.campaign_spec("", db=db)
    audience = planning.campaign_audience(spec, db=db, from_db=True)
    options = planning.sender_options(spec, audience=audience, months=3, currency="USD")
    campaign = pricing.campaign_cost(spec, audience=audience, currency="USD")
    text = narrative.cost_summary(options, campaign, months=3, currency="USD")
    for row in options[options["recommended"]].itertuples():
        kind = row.sender_type.replace("_", " ")
        assert re.search(rf"{kind} in [A-Z, ]*\b{row.region}\b", text), (row.region, text)
    assert f"{campaign['known_total']:,.2f} USD" in text or f"{campaign['known_total']:.4f} USD" in text


def test_ab_sentence_for_one_two_and_three_variants():
    one = compare_proportions([5], [50], ["A"], metric="replied / delivered")
    assert narrative.ab_sentence(one) == "There is no A/B comparison: the campaign has one variant."
    two = compare_proportions([5, 25], [100, 100], ["A", "B"], metric="replied / delivered")
    assert two.significant
    assert narrative.ab_sentence(two).startswith(
        "Variant B's reply rate (25.0%) is significantly different from A's (5.0%;"
    )
    three = compare_proportions([10, 11, 9], [100, 100, 100], ["A", "B", "C"], metric="delivered / submitted")
    sentence = narrative.ab_sentence(three)
    assert "delivery rates of variants A, B, C do not differ significantly" in sentence and "B's (11.0%)" in sentence


def test_empty_campaign_says_so():
    kpi = {"targeted": 0, "submitted": 0, "delivered": 0}
    assert "no message went out" in narrative.delivery_summary(kpi, pd.DataFrame())
    assert "No message has been delivered yet" in narrative.optout_summary(kpi, pd.DataFrame())
    empty = narrative.setup_summary({"total": 0}, pd.DataFrame(), pd.DataFrame())
    assert empty == "The campaign has no recipient to check."
