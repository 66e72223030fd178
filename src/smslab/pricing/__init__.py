"""Pricing: price sheets, currency rates, the sender-type planner and whole-campaign cost.

Prices are indicative, sourced and dated (``data/pricing/indicative.csv``); a value nobody has
a source for is ``unknown`` and is never treated as zero: a total that needs it is reported as
unknown, with the part that is known and the list of what is missing. Whether a sender type may
be used comes from the rules dataset (`smslab.rules`), and an option the rules forbid is never
recommended. Prices stay in their own currency; a total is converted only with an explicit rate
table (``data/pricing/currency_rates.csv`` or your own), never with live rates.

One module per concern:

- `smslab.pricing.sheets` — `load_prices`, `PriceSheet`, `Price` (reading and validating the CSVs);
- `smslab.pricing.rates` — `load_rates`, `Rates`;
- `smslab.pricing.planner` — `plan`, `break_even`;
- `smslab.pricing.options` — `Plan`, `Option` (the planner's answers), `describe`, `plan_json`;
- `smslab.pricing.campaign_costs` — `campaign_cost` (a whole spec's message cost).

Example:
    >>> from smslab.pricing import plan
    >>> p = plan("US", monthly_volume=20_000, months=3)
    >>> p.recommended, p.option("short_code").allowed, p.option("short_code").total_status
    ('long_code', True, 'partial')
"""

from __future__ import annotations

from smslab.pricing.campaign_costs import campaign_cost
from smslab.pricing.options import Option, Plan, describe, plan_json
from smslab.pricing.planner import RulesLike, break_even, plan
from smslab.pricing.rates import Rates, load_rates
from smslab.pricing.sheets import UNKNOWN, Price, PriceSheet, load_prices, pricing_dir
from smslab.senders import SENDER_TYPES

__all__ = [
    "SENDER_TYPES",
    "UNKNOWN",
    "Option",
    "Plan",
    "Price",
    "PriceSheet",
    "Rates",
    "RulesLike",
    "break_even",
    "campaign_cost",
    "describe",
    "load_prices",
    "load_rates",
    "plan",
    "plan_json",
    "pricing_dir",
]
