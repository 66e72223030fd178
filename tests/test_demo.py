"""The walking skeleton end to end: plan → check → send → receive → load → analyse → report."""

import re
from pathlib import Path

import pytest

from browser import rendered_dom
from smslab import store
from smslab.demo import REPORTS, demo


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    # a chatty simulated audience, so that every kind of reply surely occurs in a small demo
    kwargs = dict(
        messages=150,
        seed=11,
        db=root / "demo.duckdb",
        landing=root / "landing",
        output_dir=root / "reports",
        simulator={"reply_rate": 0.4, "opt_out_short_code_rate": 0.5},
    )
    first = demo(**kwargs)
    return root, kwargs, first


def test_the_demo_fills_every_stage(demo_run):
    root, _, result = demo_run
    con = store.connect(result["db"], read_only=True)
    assert result["messages"] > 0
    assert store.scalar(con, "SELECT count(*) FROM dlr_events") > 0
    assert store.scalar(con, "SELECT count(*) FROM inbound") > 0
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE status = 'delivered'") > 0
    assert store.scalar(con, "SELECT count(*) FROM consent WHERE action = 'opt_out'") > 0
    assert store.scalar(con, "SELECT count(*) FROM quarantine") > 0  # the audience's junk rows
    # nobody without consent got a marketing message
    assert (
        store.scalar(
            con,
            """SELECT count(*) FROM messages m JOIN audience a USING (campaign_id, msisdn)
                                WHERE a.consent_at IS NULL""",
        )
        == 0
    )


def test_kenya_opt_outs_are_linked_to_the_alphanumeric_sender(demo_run):
    _, _, result = demo_run
    con = store.connect(result["db"], read_only=True)
    rows = con.execute("""SELECT DISTINCT i.recipient, c.scope, i.campaign_id FROM inbound i
                          JOIN consent c ON c.evidence LIKE '%' || i.provider_message_id || '%'
                          WHERE i.recipient = '21456'""").fetchall()
    assert rows, "the simulated Kenyan audience should produce opt-outs on 21456"
    assert {(r[1], r[2]) for r in rows} == {("ACME", result["campaign_id"])}


def test_the_html_report_is_self_contained_masked_and_renders_a_chart(demo_run):
    root, _, result = demo_run
    [html_path] = [p for p in result["reports"] if p.endswith("delivery_funnel.html")]
    assert len(result["reports"]) == len(REPORTS) == 5
    html = Path(html_path).read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", html), "no script may come from the network"
    for code in ("from smslab import", "reporting.show(", "store.connect("):
        assert code not in html, f"code leaked into the report: {code}"
    con = store.connect(result["db"], read_only=True)
    numbers = [r[0] for r in con.execute("SELECT DISTINCT msisdn FROM audience").fetchall()]
    leaked = [n for n in numbers if n in html or n.lstrip("+") in html]
    assert not leaked, f"phone numbers must be masked, found {leaked[:3]}"
    dom = rendered_dom(html_path, root / "chromium")
    assert "main-svg" in dom, "plotly drew no chart in headless Chromium"


def test_running_the_demo_twice_counts_nothing_twice(demo_run):
    root, kwargs, first = demo_run
    con = store.connect(first["db"], read_only=True)
    before = con.execute(
        "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM dlr_events), "
        "(SELECT count(*) FROM inbound), (SELECT count(*) FROM consent)"
    ).fetchall()
    con.close()
    second = demo(**{**kwargs, "reports": False})
    con = store.connect(second["db"], read_only=True)
    after = con.execute(
        "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM dlr_events), "
        "(SELECT count(*) FROM inbound), (SELECT count(*) FROM consent)"
    ).fetchall()
    assert after == before
    assert second["runs"][0]["submitted"] == 0
    assert second["loaded"]["loaded"] == 0


def test_the_demo_funnel_by_operator_names_real_operators(demo_run):
    """Every simulated report carries an mccMnc: the by-operator table names the network (issue #15:
    it used to read `<country> unknown` for every row)."""
    from smslab import analytics

    _, _, result = demo_run
    con = store.connect(result["db"], read_only=True)
    assert store.scalar(con, "SELECT count(*) FROM dlr_events WHERE operator IS NULL") == 0
    by = analytics.funnel_by(con, result["campaign_id"], "operator")
    sent = by[by["operator"] != analytics.NOT_SENT]
    assert len(sent) > 3
    assert not sent["operator"].str.contains("unknown").any(), sent["operator"].tolist()
    assert not sent["operator"].str.fullmatch(r"\S+ \d{5,6}").any(), sent["operator"].tolist()
    assert {"FR Orange", "FR SFR", "KE Safaricom"} & set(sent["operator"])


def test_the_demo_costs_come_from_the_providers_reports(demo_run):
    """The simulator's Infobip-format reports carry price.pricePerMessage: those are real prices,
    counted before the submit answer's or the indicative sheet's, and the cost table says so."""
    from smslab import analytics

    _, _, result = demo_run
    con = store.connect(result["db"], read_only=True)
    assert store.scalar(con, "SELECT count(*) FROM dlr_events WHERE price IS NOT NULL") > 0
    assert store.scalar(con, "SELECT count(*) FROM messages WHERE price_source = 'report'") > 0
    cost = analytics.cost_per_outcome(con, result["campaign_id"])
    assert cost["priced_by_reports"].sum() > 0
    assert cost["price_basis"].str.contains("provider reports").any()


def test_the_demo_writes_only_next_to_its_database(tmp_path):
    """The synthetic audience goes beside the database: a test run leaves nothing in the checkout."""
    from smslab import config as smslab_config
    from smslab.demo import demo as run_demo

    checkout = smslab_config.data_dir() / "demo"
    before = sorted(checkout.glob("*")) if checkout.exists() else []
    run_demo(messages=20, seed=11, reports=False, db=tmp_path / "d.duckdb", landing=tmp_path / "landing")
    after = sorted(checkout.glob("*")) if checkout.exists() else []
    assert after == before
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["audience-20-11.csv"]
