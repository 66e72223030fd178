"""The sender-type planner: short code vs long code (VLN) vs toll-free vs alphanumeric.

Whether a sender type may be used comes from the rules dataset (`smslab.rules`), and an option
the rules forbid is never recommended. Totals stay in each option's own currency; the
recommendation compares them through an explicit rate table (`smslab.pricing.rates`).

Example:
    >>> p = plan("US", monthly_volume=20_000, months=3)
    >>> p.recommended, p.option("short_code").allowed, p.option("short_code").total_status
    ('long_code', True, 'partial')
"""

from __future__ import annotations

import math
import os
import re
from datetime import date
from typing import Any, Protocol

from smslab.errors import InputError
from smslab.pricing.options import Option, Plan, _fmt, _money
from smslab.pricing.rates import Rates, load_rates
from smslab.pricing.sheets import PERIOD_MONTHS, UNKNOWN, Price, PriceSheet, load_prices
from smslab.senders import SENDER_TYPES


class RulesLike(Protocol):
    def sender_allowed(
        self, cc: str, sender_type: str, *, purpose: str, two_way: bool, ruleset: Any = None
    ) -> tuple[bool, str]: ...

    def lead_time_weeks(self, cc: str, sender_type: str, ruleset: Any = None) -> float | None: ...


def _default_rules() -> RulesLike:
    from smslab import rules

    return rules


def _option(
    country: str,
    sender_type: str,
    price: Price,
    *,
    allowed: bool,
    reason: str,
    monthly_volume: int,
    months: float,
    segments: int,
    two_way: bool,
    reply_rate: float | None,
    rules_lead: float | None,
    launch_in_weeks: float | None,
    rates: Rates,
    target: str,
) -> Option:
    notes: list[str] = []
    missing: list[str] = []
    messages = int(round(monthly_volume * months))
    segments_sent = messages * segments

    # recurring: billed for the longer of the campaign and the minimum term, in whole periods
    billed_months: float = months
    if price.minimum_term_months is not None and price.minimum_term_months > months:
        billed_months = price.minimum_term_months
        notes.append(f"minimum term {price.minimum_term_months:g} months is longer than the {months:g}-month campaign")
    recurring: float | None
    if price.recurring_fee is None:
        recurring = None
        missing.append("recurring_fee")
    elif price.recurring_period is None:
        recurring = None
        missing.append("recurring_period")
    else:
        per = PERIOD_MONTHS[price.recurring_period]
        recurring = price.recurring_fee * math.ceil(billed_months / per - 1e-9)
    if price.setup_fee is None:
        missing.append("setup_fee")
    if price.price_per_segment is None:
        missing.append("price_per_segment")
    if price.carrier_surcharge_per_segment is None:
        missing.append("carrier_surcharge_per_segment")
    per_segment = (
        None
        if price.price_per_segment is None or price.carrier_surcharge_per_segment is None
        else price.price_per_segment + price.carrier_surcharge_per_segment
    )
    per_message = None if per_segment is None else per_segment * segments
    message_cost = None if per_message is None else per_message * messages
    known_message_part = (price.price_per_segment or 0.0) * segments_sent + (
        price.carrier_surcharge_per_segment or 0.0
    ) * segments_sent

    inbound_cost: float | None = 0.0
    if two_way:
        if reply_rate is None:
            notes.append("replies not costed: give reply_rate (replies per message sent) to include them")
        elif price.price_per_inbound is None:
            inbound_cost = None
            missing.append("price_per_inbound")
        else:
            inbound_cost = price.price_per_inbound * messages * reply_rate

    parts = [price.setup_fee, recurring, message_cost, inbound_cost]
    known_total = sum(p for p in parts if p is not None)
    if message_cost is None:
        known_total = sum(p for p in (price.setup_fee, recurring, inbound_cost) if p is not None) + known_message_part
    total = None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]
    if total is not None:
        status = "known"
    elif known_total > 0:
        status = "partial"
    else:
        status = UNKNOWN
    if price.currency is None and status != UNKNOWN:
        status = UNKNOWN
    cost_per_message = None if total is None or messages == 0 else total / messages

    lead = price.lead_time_weeks
    lead_source = "price sheet" if lead is not None else None
    if lead is None and rules_lead is not None:
        lead, lead_source = rules_lead, "rules dataset"
    ready: bool | None = None
    if launch_in_weeks is not None:
        if lead is None:
            notes.append("lead time unknown: cannot tell whether it is ready by launch")
        else:
            ready = lead <= launch_in_weeks
            if not ready:
                notes.append(f"lead time {lead:g} weeks is beyond the launch in {launch_in_weeks:g} weeks")
    throughput = price.throughput_mps
    burst = None if not throughput else monthly_volume * segments / throughput
    if throughput is None:
        missing.append("throughput_mps")
    if price.notes:
        notes.append(price.notes)
    return Option(
        sender_type=sender_type,
        allowed=allowed,
        reason=reason,
        currency=price.currency,
        setup=_money(price.setup_fee),
        recurring=_money(recurring),
        recurring_fee=price.recurring_fee,
        recurring_period=price.recurring_period,
        billed_months=billed_months,
        messages=messages,
        segments_sent=segments_sent,
        message_cost=_money(message_cost),
        inbound_cost=_money(inbound_cost),
        per_message=_money(per_message),
        total=_money(total),
        total_status=status,
        known_total=_money(known_total) or 0.0,
        missing=missing,
        cost_per_message=_money(cost_per_message),
        total_converted=_money(rates.convert(total, price.currency, target)),
        lead_time_weeks=lead,
        lead_time_source=lead_source,
        ready_by_launch=ready,
        throughput_mps=throughput,
        burst_seconds=None if burst is None else round(burst, 3),
        source=price.source,
        source_url=price.source_url,
        checked=price.checked,
        notes=notes,
    )


def _comparable(o: Option, rates: Rates, target: str, amount: float | None) -> float | None:
    return rates.convert(amount, o.currency, target)


def _recommend(options: list[Option], rates: Rates, target: str) -> tuple[str | None, str]:
    allowed = [o for o in options if o.allowed]
    if not allowed:
        return None, "no sender type is allowed for this purpose by the rules dataset: " + "; ".join(
            o.reason for o in options
        )
    ready = [o for o in allowed if o.ready_by_launch is not False]
    late = [o for o in allowed if o.ready_by_launch is False]
    pool = ready or allowed
    lateness = "" if ready else " None of the allowed options can be ready by launch: expect to move the date."
    if late and ready:
        lateness = (
            " Not ready by launch: " + ", ".join(f"{o.sender_type} ({o.lead_time_weeks:g} weeks)" for o in late) + "."
        )
    costed = [(o, _comparable(o, rates, target, o.total)) for o in pool]
    known = [(o, t) for o, t in costed if t is not None]
    if known:
        best, best_total = min(known, key=lambda ot: (ot[1], ot[0].lead_time_weeks or 0))
        maybe = [
            o
            for o in pool
            if o is not best
            and o.total is None
            and (lb := _comparable(o, rates, target, o.known_total)) is not None
            and lb < best_total
        ]
        others = [f"{o.sender_type} {_fmt(t, target)}" for o, t in known if o is not best]
        why = (
            f"{best.sender_type} is allowed and has the lowest known total cost of ownership: "
            f"{_fmt(best_total, target)} over the term" + (f" (vs {', '.join(others)})" if others else "") + "."
        )
        if maybe:
            why += (
                " Could still be cheaper, but prices are missing: "
                + ", ".join(
                    f"{o.sender_type} (known part {_fmt(o.known_total, o.currency)}; missing {', '.join(o.missing)})"
                    for o in maybe
                )
                + "."
            )
        for o in pool:
            if o is not best and o.total is None and o not in maybe:
                why += (
                    f" {o.sender_type} costs more even on its known part alone ({_fmt(o.known_total, o.currency)})."
                    if o.known_total and o.currency
                    else f" {o.sender_type}: cost unknown."
                )
        return best.sender_type, why + lateness
    if len(pool) == 1:
        only = pool[0]
        return only.sender_type, (
            f"{only.sender_type} is the only allowed option; its total cost is unknown "
            f"(missing {', '.join(only.missing) or 'a currency rate'})."
        ) + lateness
    return None, (
        "several sender types are allowed ("
        + ", ".join(o.sender_type for o in pool)
        + ") but their totals are unknown; supply a price sheet (--prices) to compare them."
        + " Missing: "
        + "; ".join(f"{o.sender_type}: {', '.join(o.missing)}" for o in pool)
        + "."
        + lateness
    )


def break_even(short: Option, long: Option, months: float, segments: int) -> dict[str, Any]:
    """Monthly volume above which a short code costs less than a long code over the same term.

    Total(v) = fixed + v × months × per_message, so the break-even is
    (fixed_sc - fixed_lc) / (months × (per_message_lc - per_message_sc)). When only the short
    code's fixed cost is partly unknown, its known part is a lower bound (fees are never
    negative), which is enough to answer "never" or "at least N".
    """
    out: dict[str, Any] = {"monthly_volume": None, "at_least": None, "explanation": ""}
    if short.currency and long.currency and short.currency != long.currency:
        out["explanation"] = f"prices in different currencies ({short.currency}, {long.currency})"
        return out
    fixed_keys = ("setup_fee", "recurring_fee", "recurring_period")
    for o in (short, long):
        if o.per_message is None:
            out["explanation"] = f"unknown: {o.sender_type} per-message price is unknown ({', '.join(o.missing)})"
            return out
    if long.setup is None or long.recurring is None:
        missing = [m for m in long.missing if m in fixed_keys]
        out["explanation"] = f"unknown: long_code is missing {', '.join(missing)}"
        return out
    fixed_lc = long.setup + long.recurring
    exact = short.setup is not None and short.recurring is not None
    fixed_sc = (short.setup or 0.0) + (short.recurring or 0.0)  # a lower bound when not exact
    short_missing = [m for m in short.missing if m in fixed_keys]
    diff_fixed = fixed_sc - fixed_lc
    diff_unit = (long.per_message - short.per_message) * months  # type: ignore[operator]
    if diff_unit <= 0:
        if diff_fixed >= 0:
            out["explanation"] = (
                "never: a short code's per-message price is not lower than a long code's, and its fixed cost is "
                f"{'' if exact else 'at least '}{_fmt(diff_fixed, short.currency)} higher over the term "
                "(choose a short code for throughput or deliverability, not price)"
            )
        elif exact:
            out.update(monthly_volume=0, explanation="the short code is never more expensive")
        else:
            out["explanation"] = f"unknown: short_code is missing {', '.join(short_missing)}"
        return out
    volume = max(0, math.ceil(diff_fixed / diff_unit))
    if exact:
        out.update(
            monthly_volume=volume,
            explanation=(
                f"above {volume:,} messages a month ({segments} segment(s) each) over {months:g} months the short "
                "code costs less"
            ),
        )
    else:
        out.update(
            at_least=volume,
            explanation=(
                f"at least {volume:,} messages a month ({segments} segment(s) each) over {months:g} months; exact "
                f"figure unknown: short_code is missing {', '.join(short_missing)}"
            ),
        )
    return out


def plan(
    country: str,
    *,
    monthly_volume: int,
    months: float,
    two_way: bool = False,
    purpose: str = "marketing",
    segments: int = 1,
    reply_rate: float | None = None,
    launch_in_weeks: float | None = None,
    launch: date | None = None,
    currency: str | None = None,
    prices: PriceSheet | str | os.PathLike[str] | None = None,
    rates: Rates | str | os.PathLike[str] | dict[str, float] | None = None,
    rules: RulesLike | None = None,
    ruleset: Any = None,
    today: date | None = None,
    require_rates: bool = False,
) -> Plan:
    """Compare every sender type for one country over a campaign term.

    With ``require_rates`` (the CLI's ``--currency``), a price whose currency cannot be
    converted to ``currency`` with the rate table is an `InputError` naming the missing rate;
    otherwise that option's converted total is left unknown.

    ``monthly_volume`` messages a month (each ``segments`` parts) for ``months`` months; the
    total of ownership is setup + recurring (whole billing periods, at least the minimum term)
    + messages (+ replies when ``two_way`` and ``reply_rate`` are given). ``launch_in_weeks`` (or
    a ``launch`` date) flags options whose lead time is too long. Totals are in each option's
    own currency; ``total_converted`` and the recommendation use ``currency`` via the rate
    table. Raises `InputError` on impossible inputs.

    Example:
        >>> p = plan("US", monthly_volume=5_000, months=3, purpose="transactional")
        >>> p.recommended, p.option("long_code").total
        ('long_code', 311.95)
    """
    cc = country.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", cc):
        raise InputError(f"country {country!r}: expected a two-letter country code such as FR")
    if monthly_volume < 0:
        raise InputError(f"monthly volume {monthly_volume}: expected a number of messages ≥ 0")
    if months <= 0:
        raise InputError(f"months {months}: expected a campaign length > 0")
    if segments < 1:
        raise InputError(f"segments {segments}: expected at least 1 part per message")
    if purpose not in ("marketing", "transactional"):
        raise InputError(f"purpose {purpose!r}: expected marketing or transactional")
    if reply_rate is not None and not 0 <= reply_rate <= 10:
        raise InputError(f"reply rate {reply_rate}: expected replies per message sent, e.g. 0.05")
    sheet = prices if isinstance(prices, PriceSheet) else load_prices(prices)
    table = rates if isinstance(rates, Rates) else load_rates(rates)
    rules_mod = rules or _default_rules()
    if launch is not None and launch_in_weeks is None:
        launch_in_weeks = ((launch - (today or date.today())).days) / 7
    target = (currency or "").upper() or None
    options = []
    for st in SENDER_TYPES:
        price = sheet.get(cc, st)
        try:
            allowed, reason = rules_mod.sender_allowed(cc, st, purpose=purpose, two_way=two_way, ruleset=ruleset)
        except Exception as exc:  # fail closed: a rules problem never makes an option allowed
            if isinstance(exc, InputError):
                raise
            allowed, reason = False, f"rules unavailable ({type(exc).__name__}: {exc}); treated as not allowed"
        try:
            rules_lead = rules_mod.lead_time_weeks(cc, st, ruleset=ruleset)
        except Exception as exc:
            if isinstance(exc, InputError):
                raise
            rules_lead = None
        options.append((st, price, bool(allowed), reason, rules_lead))
    if target is None:
        currencies = {p.currency for _, p, *_ in options if p.currency}
        target = currencies.pop() if len(currencies) == 1 else "USD"
    else:
        if not re.fullmatch(r"[A-Z]{3}", target):
            raise InputError(f"--currency {currency!r}: expected a three-letter code such as EUR, USD or GBP")
        needed = (
            []
            if not require_rates
            else sorted(
                {
                    p.currency
                    for _, p, *_ in options
                    if p.currency and p.currency != "unknown" and table.rate(p.currency, target) is None
                }
            )
        )
        if needed:
            where = ", ".join(table.files) if table.files else "data/pricing/currency_rates.csv"
            raise InputError(
                f"--currency {target}: no rate {', '.join(f'{c}/{target}' for c in needed)} in {where}; "
                "add a row from_currency,to_currency,rate,source,checked there, or pass --rates FILE"
            )
    built = [
        _option(
            cc,
            st,
            price,
            allowed=allowed,
            reason=reason,
            monthly_volume=monthly_volume,
            months=months,
            segments=segments,
            two_way=two_way,
            reply_rate=reply_rate,
            rules_lead=rules_lead,
            launch_in_weeks=launch_in_weeks,
            rates=table,
            target=target,
        )
        for st, price, allowed, reason, rules_lead in options
    ]
    recommended, why = _recommend(built, table, target)
    be = break_even(built[0], built[1], months, segments)
    return Plan(
        country=cc,
        purpose=purpose,
        two_way=two_way,
        monthly_volume=monthly_volume,
        months=months,
        segments=segments,
        target_currency=target,
        options=built,
        recommended=recommended,
        why=why,
        break_even=be,
        launch_in_weeks=None if launch_in_weeks is None else round(launch_in_weeks, 2),
        price_files=sheet.files,
    )
