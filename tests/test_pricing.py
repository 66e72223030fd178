"""The price sheets and the sender-type planner, with answers worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from smslab.cli import cli
from smslab.errors import InputError
from smslab.pricing import SENDER_TYPES, Rates, campaign_cost, load_prices, load_rates, plan

FIX = Path(__file__).parent / "fixtures" / "pricing"
FULL = FIX / "full_xx.csv"


class StubRules:
    """Rules for the fictional country XX: everything but alphanumeric allowed, unless told otherwise."""

    def __init__(self, forbid: tuple[str, ...] = ("alphanumeric",), lead: dict[str, float] | None = None) -> None:
        self.forbid = forbid
        self.lead = lead or {}
        self.calls: list[tuple] = []

    def sender_allowed(self, cc, sender_type, *, purpose, two_way, ruleset=None):
        self.calls.append((cc, sender_type, purpose, two_way))
        if sender_type in self.forbid:
            return False, f"{cc} {sender_type}: forbidden (stub)"
        return True, f"{cc} {sender_type}: allowed (stub)"

    def lead_time_weeks(self, cc, sender_type, ruleset=None):
        return self.lead.get(sender_type)


# --- built-in sheet ---------------------------------------------------------------------------


def test_builtin_sheet_has_every_reference_country_and_sender_type_with_source_and_date() -> None:
    sheet = load_prices()
    countries = {cc for cc, _ in sheet.prices}
    assert {"US", "CA", "GB", "FR", "DE", "IN", "KE", "MA"} <= countries and len(countries) >= 30
    for (cc, st), price in sheet.prices.items():
        assert st in SENDER_TYPES
        assert price.source, (cc, st)
        assert price.checked, (cc, st)


def test_builtin_sheet_marks_unknown_and_never_invents() -> None:
    sheet = load_prices()
    fr = sheet.get("FR", "short_code")
    assert fr.price_per_segment is None and fr.setup_fee is None and fr.currency is None
    us = sheet.get("US", "short_code")
    # the figures of the reference ("Costs (US)"): $1,000/month lease, 3-month minimum, $0.0083/segment
    assert (us.recurring_fee, us.recurring_period, us.minimum_term_months, us.price_per_segment) == (
        1000,
        "month",
        3,
        0.0083,
    )
    assert us.setup_fee is None and us.price_per_inbound is None
    assert us.source_url.startswith("https://")
    assert sheet.get("ZZ", "long_code").price_per_segment is None  # a country not in the sheet: all unknown


# --- price sheet errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("bad_number.csv", "row 2 (line 3), column 'price_per_segment': more cells"),
        (
            "bad_value.csv",
            "row 2 (line 3), column 'price_per_segment': expected a number or 'unknown', got 'four cents'",
        ),
        ("bad_column.csv", "line 1, column 'price_per_segmnt': unknown column"),
        (
            "bad_sender.csv",
            "row 2 (line 3), column 'sender_type': expected one of short_code, long_code, toll_free, alphanumeric, "
            "got 'vln'",
        ),
        ("duplicate.csv", "row 3 (line 4), column 'sender_type': FR short_code appears twice (first on line 2)"),
        ("negative.csv", "row 1 (line 2), column 'setup_fee': expected a number ≥ 0"),
    ],
)
def test_malformed_price_sheet_gets_one_clear_error(name: str, expected: str) -> None:
    with pytest.raises(InputError) as info:
        load_prices(FIX / name)
    message = str(info.value)
    assert message.startswith(str(FIX / name) + ": ")
    assert expected in message
    assert "\n" not in message


def test_malformed_price_sheet_through_the_cli_is_one_line_no_traceback() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "cost",
            "--country",
            "FR",
            "--monthly-volume",
            "100",
            "--months",
            "1",
            "--prices",
            str(FIX / "bad_value.csv"),
            "--json",
        ],
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "column 'price_per_segment'" in result.stderr and "Traceback" not in result.stderr


def test_missing_price_sheet() -> None:
    with pytest.raises(InputError, match="no such price sheet"):
        load_prices(FIX / "nope.csv")


def test_user_sheet_overrides_cell_by_cell() -> None:
    sheet = load_prices(FIX / "rate_card_eur.csv")
    fr = sheet.get("FR", "short_code")
    assert (fr.currency, fr.price_per_segment, fr.carrier_surcharge_per_segment) == ("EUR", 0.05, 0.0)
    assert fr.setup_fee is None  # not in the user sheet: stays unknown
    assert fr.source == "user price sheet rate_card_eur.csv"
    us = sheet.get("US", "short_code")  # untouched rows keep the built-in values
    assert us.recurring_fee == 1000


# --- currency rates ---------------------------------------------------------------------------


def test_rates_explicit_and_inverse() -> None:
    rates = load_rates(FIX / "rates.csv")
    assert rates.convert(10, "EUR", "USD") == pytest.approx(11.0)
    assert rates.convert(11, "USD", "EUR") == pytest.approx(10.0)
    assert rates.convert(1, "GBP", "USD") is None  # no live rates, no guess
    assert load_rates({"GBP/USD": 1.25}).convert(2, "GBP", "USD") == pytest.approx(2.5)


def test_bad_rate_table() -> None:
    with pytest.raises(InputError, match=r"row 2 \(line 3\), column 'rate': expected a number, got 'zero'"):
        load_rates(FIX / "bad_rates.csv")


# --- the planner ------------------------------------------------------------------------------


def xx_plan(**kwargs):
    args = dict(monthly_volume=10_000, months=3, prices=FULL, rules=StubRules())
    args.update(kwargs)
    return plan("XX", **args)


def test_total_cost_of_ownership_by_hand() -> None:
    p = xx_plan()
    sc = p.option("short_code")
    # setup 500 + lease 3 × 1000 + 30,000 × 0.005
    assert (sc.setup, sc.recurring, sc.message_cost, sc.total) == (500, 3000, 150, 3650)
    assert sc.cost_per_message == pytest.approx(3650 / 30_000)
    lc = p.option("long_code")
    assert lc.total == pytest.approx(0 + 3 * 10 + 30_000 * 0.01)  # 330
    assert lc.total_status == "known"
    assert lc.burst_seconds == pytest.approx(10_000 / 10)
    assert sc.burst_seconds == pytest.approx(10_000 / 100)
    assert lc.lead_time_weeks == 2 and lc.lead_time_source == "price sheet"


def test_minimum_term_is_billed_even_for_a_shorter_campaign() -> None:
    sc = xx_plan(months=1).option("short_code")
    assert sc.billed_months == 3 and sc.recurring == 3000
    assert any("minimum term" in n for n in sc.notes)


def test_low_volume_three_month_campaign_goes_to_the_long_code_not_the_leased_short_code() -> None:
    p = xx_plan(monthly_volume=5_000, months=3)
    assert p.recommended == "long_code"
    assert "lowest known total" in p.why


def test_an_option_the_rules_forbid_is_never_recommended_even_when_cheapest() -> None:
    p = xx_plan()
    alpha = p.option("alphanumeric")
    assert alpha.total is not None and alpha.total < p.option("long_code").total  # cheapest on paper
    assert not alpha.allowed and "forbidden" in alpha.reason
    assert p.recommended == "long_code"
    # forbid the long code too: the next cheapest allowed one, never a forbidden one
    p2 = xx_plan(rules=StubRules(forbid=("alphanumeric", "long_code")))
    assert p2.recommended == "toll_free"
    p3 = xx_plan(rules=StubRules(forbid=SENDER_TYPES))
    assert p3.recommended is None and "no sender type is allowed" in p3.why


def test_rules_that_fail_count_as_forbidden() -> None:
    class Broken(StubRules):
        def sender_allowed(self, *a, **k):
            raise RuntimeError("dataset missing")

    p = xx_plan(rules=Broken())
    assert p.recommended is None
    assert all(not o.allowed and "treated as not allowed" in o.reason for o in p.options)


def test_high_volume_goes_to_the_short_code() -> None:
    # break-even by hand: fixed SC 3,500 vs LC 30 → 3,470 / (3 × (0.01 − 0.005)) = 231,334 a month
    p = xx_plan(monthly_volume=300_000)
    assert p.break_even["monthly_volume"] == 231_334
    assert p.recommended == "short_code"
    assert xx_plan(monthly_volume=231_000).recommended == "long_code"


def test_break_even_scales_with_segments() -> None:
    assert xx_plan(segments=2).break_even["monthly_volume"] == 115_667


def test_lead_time_beyond_launch_is_flagged_and_avoided() -> None:
    p = xx_plan(monthly_volume=300_000, launch_in_weeks=6)
    sc = p.option("short_code")
    assert sc.ready_by_launch is False
    assert any("beyond the launch in 6 weeks" in n for n in sc.notes)
    assert p.option("long_code").ready_by_launch is True
    assert p.recommended == "long_code"  # the cheaper short code cannot be ready in time
    assert "Not ready by launch: short_code (12 weeks)" in p.why


def test_lead_time_from_rules_when_the_sheet_has_none() -> None:
    p = plan(
        "US",
        monthly_volume=1000,
        months=3,
        launch_in_weeks=4,
        rules=StubRules(forbid=("alphanumeric",), lead={"short_code": 12}),
    )
    sc = p.option("short_code")
    assert sc.lead_time_weeks == 12 and sc.lead_time_source == "rules dataset" and sc.ready_by_launch is False


def test_unknown_prices_make_totals_unknown_not_zero() -> None:
    p = plan("FR", monthly_volume=10_000, months=3, rules=StubRules())
    for o in p.options:
        assert o.total is None and o.total_status == "unknown" and o.cost_per_message is None
        assert "price_per_segment" in o.missing
    assert p.recommended is None and "totals are unknown" in p.why
    assert p.break_even["monthly_volume"] is None and p.break_even["explanation"].startswith("unknown")


def test_partial_total_keeps_the_known_part_and_the_missing_fields() -> None:
    p = plan("US", monthly_volume=20_000, months=3, rules=StubRules())
    sc = p.option("short_code")  # setup fee unknown in the reference
    assert sc.total is None and sc.total_status == "partial"
    assert sc.known_total == pytest.approx(3 * 1000 + 60_000 * (0.0083 + 0.0062))
    assert sc.missing == ["setup_fee"]
    # short code vs long code: same per-message price, so never on price — known even without the setup fee
    assert p.break_even["monthly_volume"] is None and p.break_even["explanation"].startswith("never")


def test_two_way_replies_are_costed_when_a_reply_rate_is_given() -> None:
    lc = xx_plan(two_way=True, reply_rate=0.1).option("long_code")
    assert lc.inbound_cost == pytest.approx(30_000 * 0.1 * 0.01)
    assert lc.total == pytest.approx(330 + 30)
    alpha = xx_plan(two_way=True, reply_rate=0.1).option("alphanumeric")
    assert alpha.inbound_cost is None and alpha.total is None and "price_per_inbound" in alpha.missing
    assert xx_plan(two_way=True).option("long_code").total == pytest.approx(330)  # no rate: replies not costed…
    assert any("replies not costed" in n for n in xx_plan(two_way=True).option("long_code").notes)  # …and said so


def test_purpose_and_two_way_reach_the_rules() -> None:
    stub = StubRules()
    xx_plan(rules=stub, purpose="transactional", two_way=True)
    assert ("XX", "short_code", "transactional", True) in stub.calls


def test_currency_conversion_uses_the_explicit_table_only() -> None:
    p = plan(
        "FR",
        monthly_volume=1000,
        months=1,
        prices=FIX / "rate_card_eur.csv",
        rates=FIX / "rates.csv",
        currency="USD",
        rules=StubRules(),
    )
    sc = p.option("short_code")
    assert sc.currency == "EUR" and sc.total is None  # setup and lease unknown
    fixed = Rates({})
    sheet = load_prices(FULL)
    p2 = plan("XX", monthly_volume=10_000, months=3, prices=sheet, rates=fixed, currency="EUR", rules=StubRules())
    assert p2.option("long_code").total == pytest.approx(330)  # own currency kept
    assert p2.option("long_code").total_converted is None  # no USD→EUR rate: no guess
    p3 = plan(
        "XX", monthly_volume=10_000, months=3, prices=sheet, rates={"EUR/USD": 1.1}, currency="EUR", rules=StubRules()
    )
    assert p3.option("long_code").total_converted == pytest.approx(300)


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="two-letter"):
        plan("France", monthly_volume=1, months=1, rules=StubRules())
    with pytest.raises(InputError, match="months"):
        plan("FR", monthly_volume=1, months=0, rules=StubRules())


def test_with_the_real_rules_india_marketing_never_from_a_long_code() -> None:
    # the long code is priced at almost nothing, but India forbids marketing from a VLN
    p = plan("IN", monthly_volume=1000, months=1, purpose="marketing", prices=FIX / "in_cheap_long_code.csv")
    lc = p.option("long_code")
    assert lc.allowed is False and lc.total is not None and lc.total < p.option("short_code").total
    assert p.recommended != "long_code"
    assert p.recommended in (None, "short_code")


# --- CLI --------------------------------------------------------------------------------------


def test_cli_cost_json_shape() -> None:
    result = CliRunner().invoke(
        cli, ["cost", "--country", "US", "--monthly-volume", "20000", "--months", "3", "--two-way", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {o["sender_type"] for o in doc["options"]} == set(SENDER_TYPES)
    for o in doc["options"]:
        assert {
            "sender_type",
            "allowed",
            "reason",
            "setup",
            "recurring",
            "per_message",
            "total",
            "currency",
            "lead_time_weeks",
            "throughput_mps",
        } <= set(o)
    assert "recommended" in doc and "why" in doc and "break_even" in doc
    alpha = next(o for o in doc["options"] if o["sender_type"] == "alphanumeric")
    assert alpha["allowed"] is False and doc["recommended"] != "alphanumeric"


# --- whole campaign ---------------------------------------------------------------------------

SPEC = """
name: test-campaign
purpose: marketing
two_way: true
audience: audience.csv
senders:
  "*": {type: long_code, id: "+15555550100"}   # the fictional country XX of the price sheet: a spec names no such key
  FR: {type: short_code, id: "36180"}
message:
  text: "{text}"
"""


def test_campaign_cost_counts_segments_and_the_gsm_safe_saving(tmp_path: Path) -> None:
    text = "ACME – it’s Black Friday: 30% off everything today, reply DEAL for your code. Reply STOP to opt out!"
    assert len(text) > 70  # UCS-2 because of – and ’ → 2 parts; GSM-7 after gsm_safe → 1 part
    spec = tmp_path / "campaign.yaml"
    spec.write_text(SPEC.replace("{text}", text), encoding="utf-8")
    audience = pd.DataFrame(
        {"msisdn": [f"+99{i:08d}" for i in range(100)] + ["+33612345678"] * 1, "region": ["XX"] * 100 + ["FR"]}
    )
    result = campaign_cost(spec, audience=audience, prices=FULL, rates={"EUR/USD": 1.1})
    xx = next(r for r in result["rows"] if r["country"] == "XX")
    assert (xx["encoding"], xx["segments"], xx["segments_gsm_safe"]) == ("UCS-2", 2, 1)
    assert xx["cost"] == pytest.approx(100 * 2 * 0.01)
    assert xx["saving"] == pytest.approx(100 * 1 * 0.01)
    # FR's short-code price is unknown: the total is partial, FR is listed, and it is not counted as free
    assert result["status"] == "partial"
    assert result["total"] is None and result["known_total"] == pytest.approx(2.0)
    assert result["unknown"] == [
        {"country": "FR", "variant": "A", "recipients": 1, "reason": "price unknown for FR short_code"}
    ]
    assert result["messages"] == 101 and result["segments"] == 202 and result["segments_gsm_safe"] == 101


def test_campaign_cost_complete_when_every_price_is_known(tmp_path: Path) -> None:
    spec = tmp_path / "campaign.yaml"
    spec.write_text(SPEC.replace("{text}", "Hi! 30% off today. STOP to opt out"), encoding="utf-8")
    audience = pd.DataFrame({"msisdn": [f"+99{i:08d}" for i in range(10)], "region": ["XX"] * 10})
    result = campaign_cost(spec, audience=audience, prices=FULL)
    assert result["status"] == "known" and result["total"] == pytest.approx(10 * 0.01) and result["saving"] == 0


# --- with the real rules dataset and the built-in sheet ------------------------------------------


def test_us_three_month_low_volume_goes_to_the_long_code_with_real_rules() -> None:
    p = plan("US", monthly_volume=5_000, months=3, purpose="marketing")
    assert p.option("short_code").allowed and p.option("long_code").allowed
    assert p.recommended == "long_code"
    assert p.option("short_code").known_total > p.option("long_code").total  # the lease alone is larger
    assert p.option("alphanumeric").allowed is False


def test_us_short_code_lead_time_beyond_a_launch_date_is_flagged() -> None:
    from datetime import date

    p = plan("US", monthly_volume=5_000, months=3, launch=date(2027, 1, 1), today=date(2026, 12, 1))
    sc = p.option("short_code")
    assert p.launch_in_weeks == pytest.approx(31 / 7, abs=0.01)
    assert sc.lead_time_source == "rules dataset" and sc.lead_time_weeks > p.launch_in_weeks
    assert sc.ready_by_launch is False
    assert any("beyond the launch" in n for n in sc.notes)


def test_sample_campaign_cost_with_the_audience_loader() -> None:
    sample = Path(__file__).parents[1] / "data" / "samples" / "campaign.yaml"
    result = campaign_cost(sample)
    assert result["messages"] > 0
    us = [r for r in result["rows"] if r["country"] == "US"]
    assert us and all(r["cost"] == pytest.approx(r["recipients"] * r["segments"] * (0.0083 + 0.0062)) for r in us)
    assert result["status"] == "partial" and result["total"] is None  # FR, DE… have no sourced price
    assert {u["country"] for u in result["unknown"]} >= {"FR"}


def test_pricing_exports_its_public_names_and_no_costs_module_is_left():
    import importlib.util

    from smslab import pricing

    assert {
        "load_prices",
        "load_rates",
        "plan",
        "plan_json",
        "describe",
        "break_even",
        "campaign_cost",
        "PriceSheet",
        "Price",
        "Rates",
        "Plan",
        "Option",
    } <= set(pricing.__all__)
    assert all(getattr(pricing, name) is not None for name in pricing.__all__)
    assert importlib.util.find_spec("smslab.costs") is None


def test_the_four_sender_types_are_one_constant():
    from typing import get_args

    from smslab import campaign, senders
    from smslab.rules import facts, schema

    assert senders.SENDER_TYPES == ("short_code", "long_code", "toll_free", "alphanumeric")
    assert SENDER_TYPES is senders.SENDER_TYPES is facts.SENDER_TYPES is schema.SENDER_TYPES
    assert get_args(campaign.Sender.model_fields["type"].annotation) == senders.SENDER_TYPES
    assert get_args(schema.Country.model_fields["senders"].annotation)[0] is senders.SenderType
    # and the list is spelt out in one place only
    import re

    import smslab

    listing = re.compile(r'"short_code",\s*"long_code",\s*"toll_free",\s*"alphanumeric"')
    spelt = sorted(
        str(p.relative_to(Path(smslab.__file__).parent))
        for p in Path(smslab.__file__).parent.rglob("*.py")
        if listing.search(p.read_text(encoding="utf-8"))
    )
    assert spelt == ["senders.py"]
