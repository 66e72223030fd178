"""What the planner answers: one `Option` per sender type and the `Plan` holding them, with
their JSON shape (`plan_json`) and a readable summary (`describe`).

Example:
    >>> _fmt(1234.5, "EUR"), _fmt(None, "EUR")
    ('1,234.50 EUR', 'unknown')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from smslab.pricing.sheets import UNKNOWN


@dataclass
class Option:
    """One sender type for one country, costed over the campaign term (see `plan`)."""

    sender_type: str
    allowed: bool
    reason: str
    currency: str | None
    setup: float | None
    recurring: float | None
    recurring_fee: float | None
    recurring_period: str | None
    billed_months: float | None
    messages: int
    segments_sent: int
    message_cost: float | None
    inbound_cost: float | None
    per_message: float | None
    total: float | None
    total_status: str  # known | partial | unknown
    known_total: float
    missing: list[str]
    cost_per_message: float | None
    total_converted: float | None
    lead_time_weeks: float | None
    lead_time_source: str | None
    ready_by_launch: bool | None
    throughput_mps: float | None
    burst_seconds: float | None
    source: str
    source_url: str
    checked: str
    notes: list[str]


@dataclass
class Plan:
    """The planner's answer: every sender type, the recommendation and why, the break-even."""

    country: str
    purpose: str
    two_way: bool
    monthly_volume: int
    months: float
    segments: int
    target_currency: str
    options: list[Option]
    recommended: str | None
    why: str
    break_even: dict[str, Any]
    launch_in_weeks: float | None
    price_files: list[str]

    def option(self, sender_type: str) -> Option:
        return next(o for o in self.options if o.sender_type == sender_type)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _money(x: float | None) -> float | None:
    return None if x is None else round(x, 9)


def _fmt(x: float | None, currency: str | None) -> str:
    return UNKNOWN if x is None else f"{x:,.2f} {currency or ''}".strip()


def plan_json(p: Plan) -> dict[str, Any]:
    """The CLI/JSON shape of a plan (DESIGN.md "CLI contract" plus the planner's extra fields)."""
    doc = p.to_dict()
    doc["options"] = [{k: v for k, v in o.items()} for o in doc["options"]]
    return doc


def describe(p: Plan) -> str:
    """A readable summary of a plan for the terminal."""
    lines = [
        f"{p.country} {p.purpose}{' two-way' if p.two_way else ''}: {p.monthly_volume:,}/month × "
        f"{p.months:g} months, {p.segments} segment(s) each"
    ]
    for o in p.options:
        flag = "allowed" if o.allowed else "NOT allowed"
        total = (
            _fmt(o.total, o.currency)
            if o.total is not None
            else (
                f"unknown (known part {_fmt(o.known_total, o.currency)}; missing {', '.join(o.missing)})"
                if o.total_status == "partial"
                else f"unknown (missing {', '.join(o.missing)})"
            )
        )
        lead = UNKNOWN if o.lead_time_weeks is None else f"{o.lead_time_weeks:g} wks"
        mps = UNKNOWN if o.throughput_mps is None else f"{o.throughput_mps:g} MPS"
        lines.append(f"  {o.sender_type:<13} {flag:<12} total {total}; lead time {lead}; {mps}")
        if not o.allowed:
            lines.append(f"  {'':<13} {o.reason}")
    lines.append(f"recommended: {p.recommended or 'none'} — {p.why}")
    lines.append(f"break-even short code vs long code: {p.break_even['explanation']}")
    return "\n".join(lines)
