"""The walking skeleton end to end: plan → check → send → receive → load → analyse → report."""
import re

import pytest

from smslab import store
from smslab.demo import REPORTS, demo

from browser import rendered_dom


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    # a chatty simulated audience, so that every kind of reply surely occurs in a small demo
    kwargs = dict(messages=150, seed=11, db=root / "demo.duckdb", landing=root / "landing",
                  output_dir=root / "reports", simulator={"reply_rate": 0.4, "opt_out_short_code_rate": 0.5})
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
    assert store.scalar(con, """SELECT count(*) FROM messages m JOIN audience a USING (campaign_id, msisdn)
                                WHERE a.consent_at IS NULL""") == 0


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
    html = open(html_path, encoding="utf-8").read()
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
    before = con.execute("SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM dlr_events), "
                         "(SELECT count(*) FROM inbound), (SELECT count(*) FROM consent)").fetchall()
    con.close()
    second = demo(**{**kwargs, "reports": False})
    con = store.connect(second["db"], read_only=True)
    after = con.execute("SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM dlr_events), "
                        "(SELECT count(*) FROM inbound), (SELECT count(*) FROM consent)").fetchall()
    assert after == before
    assert second["runs"][0]["submitted"] == 0
    assert second["loaded"]["loaded"] == 0


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
