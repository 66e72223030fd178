"""Schema 2: the derived rule is never looser than any claim in force (property-based), effective
dates, unknown facts, provenance and the most authoritative source."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smslab.rules.claims import parse_file
from smslab.rules.combine import minutes_allowed
from smslab.rules.derive import combined_pattern, derive, scoped
from smslab.rules.facts import CATEGORIES, CONSENT_FORMS, DAYS, SENDER_TYPES
from smslab.rules.schema import WordingRule

DAY = date(2026, 6, 15)
SOURCES = {
    "law-1": {
        "url": "https://example.org/law/article-1",
        "title": "Law",
        "publisher": "Parliament",
        "kind": "law",
        "checked": "2026-06-01",
        "read_as": "live page",
    },
    "op-1": {
        "url": "https://example.org/operator/charter",
        "title": "Charter",
        "publisher": "Operators",
        "kind": "operator",
        "checked": "2026-06-10",
        "read_as": "live page",
    },
    "prov-1": {
        "url": "https://example.com/provider/xx",
        "title": "Provider page",
        "publisher": "Provider",
        "kind": "provider",
        "checked": "2026-06-12",
        "read_as": "live page",
    },
    "blog-1": {
        "url": "https://example.net/blog/sms-rules",
        "title": "Blog",
        "publisher": "Vendor",
        "kind": "vendor",
        "checked": "2026-06-14",
        "read_as": "live page",
    },
}
WORDS = ["STOP", "ARRET", "QUIT", "FIN", "BAJA"]


def _file(claims: list[dict], subdivisions: dict | None = None):
    return parse_file(
        {
            "schema": 2,
            "country": "XX",
            "name": "Testland",
            "time_zones": ["Europe/Paris"],
            "languages": ["en"],
            "sources": SOURCES,
            "claims": claims,
            "subdivisions": subdivisions or {},
        },
        "XX.yaml",
    )


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


@st.composite
def day_windows(draw):
    out = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, 47)) * 30
        end = draw(st.integers(start // 30 + 1, 48)) * 30
        out.append(f"{_hhmm(start)}-{_hhmm(end)}")
    return out


sources = st.sampled_from(sorted(SOURCES))
values = {
    "quiet_hours.allowed": st.fixed_dictionaries({d: day_windows() for d in DAYS}),
    "quiet_hours.excluded_days": st.lists(st.sampled_from(DAYS), max_size=3, unique=True),
    "quiet_hours.holidays": st.sampled_from(["excluded", "allowed"]),
    "consent.marketing": st.sampled_from(["required", "not_required"]),
    "consent.form": st.sampled_from(CONSENT_FORMS),
    "consent.existing_customer_exception": st.booleans(),
    "opt_out.keywords": st.lists(st.sampled_from(WORDS + [w.lower() for w in WORDS]), min_size=1, max_size=3),
    "opt_out.deadline_days": st.integers(0, 30),
    "opt_out.alphanumeric_needs_short_code": st.booleans(),
    "opt_out.wording": st.builds(
        lambda req, pats: {"required": req, "patterns": pats, "example": None},
        st.booleans(),
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=2),
    ),
    "content.banned": st.lists(st.sampled_from(CATEGORIES), max_size=4),
    "content.restricted": st.lists(st.sampled_from(CATEGORIES), max_size=4),
    "limits.max_segments": st.integers(1, 10),
    "caps": st.builds(
        lambda m, h, p: {"max": m, "period_hours": h, "per": p},
        st.integers(1, 5),
        st.sampled_from([24, 168, 720]),
        st.sampled_from(["brand", "sender", "any"]),
    ),
    **{
        f"senders.{t}.{a}": st.booleans()
        for t in ("short_code", "alphanumeric")
        for a in ("available", "marketing", "two_way", "registration", "sender_kept")
    },
    "senders.short_code.lead_time_weeks": st.floats(0, 30, allow_nan=False),
}


@st.composite
def claim(draw, facts=tuple(values)):
    fact = draw(st.sampled_from(facts))
    out = {"fact": fact, "value": draw(values[fact]), "source": draw(sources), "quote": "q"}
    if draw(st.booleans()):  # a window around DAY or one that excludes it
        start = DAY + timedelta(days=draw(st.integers(-40, 40)))
        out["effective_from"] = start.isoformat()
        if draw(st.booleans()):
            out["effective_until"] = (start + timedelta(days=draw(st.integers(1, 60)))).isoformat()
    return out


@st.composite
def claim_lists(draw, max_size=14):
    """Claims about a few facts at a time, so that claims about the same fact meet often."""
    facts = draw(st.lists(st.sampled_from(sorted(values)), min_size=1, max_size=4, unique=True))
    return draw(st.lists(claim(facts=tuple(facts)), max_size=max_size))


def _in_force(c: dict) -> bool:
    return (c.get("effective_from") is None or date.fromisoformat(c["effective_from"]) <= DAY) and (
        c.get("effective_until") is None or DAY < date.fromisoformat(c["effective_until"])
    )


def _values(claims: list[dict], fact: str) -> list:
    return [c["value"] for c in claims if c["fact"] == fact and _in_force(c)]


@settings(max_examples=300, deadline=None)
@given(claim_lists())
def test_derived_rule_is_never_looser_than_any_claim_in_force(claims):
    country = derive(_file(claims), DAY)
    qh = country.quiet_hours
    windows, excluded = _values(claims, "quiet_hours.allowed"), _values(claims, "quiet_hours.excluded_days")
    if windows and qh.allowed is None:  # only "no quiet hours" claims may leave the window unknown
        assert all(minutes_allowed(w, d, m) for w in windows for d in DAYS for m in range(0, 24 * 60, 15))
    elif windows:
        for day in DAYS:
            for minute in range(0, 24 * 60, 15):
                inside = minutes_allowed(qh.allowed, day, minute)
                everywhere = all(minutes_allowed(w, day, minute) for w in windows)
                if inside:  # any instant inside the effective window is inside every claim's window
                    assert everywhere and not any(day in e for e in excluded), (day, minute)
                elif everywhere and not any(day in e for e in excluded):
                    raise AssertionError(f"{day} {minute}: allowed by every claim but not by the effective rule")
    else:
        assert qh.allowed is None
    for e in excluded:
        assert set(e) <= set(qh.excluded_days or [])
    if "excluded" in _values(claims, "quiet_hours.holidays"):
        assert qh.holidays == "excluded"
    if "required" in _values(claims, "consent.marketing"):
        assert country.consent.marketing == "required"
    for form in _values(claims, "consent.form"):
        assert CONSENT_FORMS.index(country.consent.form) <= CONSENT_FORMS.index(form)
    if False in _values(claims, "consent.existing_customer_exception"):
        assert country.consent.existing_customer_exception is False
    for banned in _values(claims, "content.banned"):
        assert set(banned) <= set(country.content.banned)
    for restricted in _values(claims, "content.restricted"):
        assert set(restricted) - set(country.content.banned) <= set(country.content.restricted)
    assert not set(country.content.restricted) & set(country.content.banned)
    for words in _values(claims, "opt_out.keywords"):
        assert {w.casefold() for w in words} <= {w.casefold() for w in country.opt_out.keywords}
    for days in _values(claims, "opt_out.deadline_days"):
        assert country.opt_out.deadline_days <= days
    if True in _values(claims, "opt_out.alphanumeric_needs_short_code"):
        assert country.opt_out.alphanumeric_needs_short_code is True
    for n in _values(claims, "limits.max_segments"):
        assert country.limits.max_segments <= n
    for weeks in _values(claims, "senders.short_code.lead_time_weeks"):
        assert country.senders["short_code"].lead_time_weeks >= weeks
    for cap in _values(claims, "caps"):
        assert any(
            (c.max, c.period_hours, c.per) == (cap["max"], cap["period_hours"], cap["per"]) for c in country.caps
        )
    for t in ("short_code", "alphanumeric"):
        rules = country.senders[t]
        for attr in ("available", "marketing", "two_way", "sender_kept"):
            if False in _values(claims, f"senders.{t}.{attr}"):
                assert getattr(rules, attr) is False, (t, attr)
        if True in _values(claims, f"senders.{t}.registration"):
            assert rules.registration is True


@settings(max_examples=150, deadline=None)
@given(
    st.lists(claim(facts=("opt_out.wording",)), max_size=4),
    st.lists(st.sampled_from(WORDS + ["hello", "https://x.example"]), max_size=5),
)
def test_a_text_passes_the_wording_only_if_it_meets_every_required_claim(claims, words):
    country = derive(_file(claims), DAY)
    text = " ".join(words)
    required = [w for w in _values(claims, "opt_out.wording") if w["required"]]
    meets_all = all(any(re.search(p, text, re.I) for p in w["patterns"]) for w in required)
    if required:
        assert country.opt_out.wording_required is True
        assert bool(re.search(country.opt_out.wording_pattern, text, re.I)) == meets_all
        assert len(country.opt_out.wordings) == len(_values(claims, "opt_out.wording"))
    else:
        assert country.opt_out.wording_pattern is None


@settings(max_examples=100, deadline=None)
@given(claim_lists(max_size=10))
def test_only_claims_in_force_contribute(claims):
    country = derive(_file(claims), DAY)
    for c in claims:
        if _in_force(c):
            assert c["source"] in country.provenance[c["fact"]]
    assert set(country.provenance) == {c["fact"] for c in claims if _in_force(c)}


WINDOW = {d: ["08:00-22:00"] for d in DAYS}
NEXT_MONTH = {d: ["09:00-20:00"] for d in DAYS}


def test_a_claim_starting_next_month_does_not_apply_today_the_old_one_still_does():
    f = _file(
        [
            {
                "fact": "quiet_hours.allowed",
                "value": WINDOW,
                "source": "op-1",
                "quote": "q",
                "effective_until": "2026-07-01",
            },
            {
                "fact": "quiet_hours.allowed",
                "value": NEXT_MONTH,
                "source": "op-1",
                "quote": "q",
                "effective_from": "2026-07-01",
            },
        ]
    )
    assert derive(f, date(2026, 6, 30)).quiet_hours.allowed["mon"] == ["08:00-22:00"]
    assert derive(f, date(2026, 7, 1)).quiet_hours.allowed["mon"] == ["09:00-20:00"]  # from is inclusive
    assert derive(f, date(2026, 7, 2)).quiet_hours.allowed["mon"] == ["09:00-20:00"]  # until is exclusive


def test_effective_from_is_inclusive_and_effective_until_exclusive():
    f = _file(
        [
            {
                "fact": "quiet_hours.holidays",
                "value": "excluded",
                "source": "op-1",
                "quote": "q",
                "effective_until": "2026-07-01",
            },
            {
                "fact": "quiet_hours.holidays",
                "value": "allowed",
                "source": "law-1",
                "quote": "q",
                "effective_from": "2026-07-01",
            },
        ]
    )
    assert derive(f, date(2026, 6, 30)).quiet_hours.holidays == "excluded"
    assert derive(f, date(2026, 7, 1)).quiet_hours.holidays == "allowed"
    assert derive(f, date(2026, 7, 1)).provenance == {"quiet_hours.holidays": ["law-1"]}


def test_no_claim_means_unknown_not_a_default():
    country = derive(_file([]), DAY)
    assert country.quiet_hours.allowed is None and country.quiet_hours.holidays is None
    assert country.consent.marketing is None and country.consent.form is None
    assert country.opt_out.wording_required is None and country.opt_out.keywords is None
    assert country.opt_out.alphanumeric_needs_short_code is None
    assert country.limits.max_segments is None and country.caps is None and country.penalties.per_message is None
    assert all(country.senders[t].available is None for t in SENDER_TYPES)
    assert country.provenance == {} and country.group_source_url("quiet_hours") is None


def test_group_source_url_is_the_most_authoritative_contributing_source():
    f = _file(
        [
            {"fact": "quiet_hours.holidays", "value": "excluded", "source": s, "quote": "q"}
            for s in ("blog-1", "prov-1", "law-1")
        ]
        + [
            {"fact": "content.banned", "value": ["gambling"], "source": "blog-1", "quote": "q"},
            {"fact": "content.banned", "value": ["adult"], "source": "op-1", "quote": "q"},
        ]
    )
    country = derive(f, DAY)
    assert country.group_source_url("quiet_hours") == SOURCES["law-1"]["url"]
    assert country.group_source_url("content") == SOURCES["op-1"]["url"]
    assert country.provenance["quiet_hours.holidays"] == ["law-1", "prov-1", "blog-1"]
    assert country.content.banned == ["adult", "gambling"]


def test_provider_offer_is_kept_apart_from_availability():
    f = _file(
        [
            {"fact": "senders.short_code.offered", "value": False, "source": "prov-1", "quote": "q"},
            {"fact": "senders.short_code.available", "value": True, "source": "op-1", "quote": "q"},
        ]
    )
    rules = derive(f, DAY).senders["short_code"]
    assert rules.available is True and rules.offered == {"Provider": False}


def test_penalty_per_message_and_all_items_kept():
    pen = {
        "min": None,
        "max": 750,
        "currency": "EUR",
        "per": "message",
        "falls_on": "sender",
        "applies_to": ["consent"],
    }
    day = {**pen, "max": 10000, "per": "day", "falls_on": "brand"}
    country = derive(
        _file([{"fact": "penalties", "value": v, "source": "law-1", "quote": "q"} for v in (pen, day)]), DAY
    )
    assert [p.per for p in country.penalties.items] == ["message", "day"]
    assert (country.penalties.per_message.min, country.penalties.per_message.max) == (0.0, 750)


def test_subdivision_combines_national_and_its_own_claims():
    f = _file(
        [
            {
                "fact": "quiet_hours.allowed",
                "value": {d: ["08:00-21:00"] for d in DAYS},
                "source": "law-1",
                "quote": "q",
            },
            {
                "fact": "quiet_hours.allowed",
                "value": {d: ["08:00-20:00"] for d in DAYS},
                "source": "law-1",
                "quote": "q",
                "region": "XX-AB",
            },
            {
                "fact": "caps",
                "value": {"max": 3, "period_hours": 24, "per": "any"},
                "source": "law-1",
                "quote": "q",
                "region": "XX-AB",
            },
        ],
        {"XX-AB": {"name": "Ab"}, "XX-CD": {"name": "Cd"}},
    )
    country = derive(f, DAY)
    assert country.quiet_hours.allowed["mon"] == ["08:00-21:00"] and country.caps is None
    ab, cd = country.subdivisions["XX-AB"], country.subdivisions["XX-CD"]
    assert ab.quiet_hours.allowed["mon"] == ["08:00-20:00"] and ab.caps[0].max == 3
    assert ab.own_facts == ["caps", "quiet_hours.allowed"]
    assert cd.quiet_hours.allowed["mon"] == ["08:00-21:00"] and cd.caps is None


def test_wording_patterns_combine_with_scoped_flags():
    rules = [
        WordingRule(required=True, patterns=["(?i)stop"], example=None, sender_types=None, sources=[]),
        WordingRule(required=True, patterns=["https?://"], example=None, sender_types=None, sources=[]),
    ]
    assert scoped("(?i)stop") == "(?i:stop)"
    assert combined_pattern(rules[:1]) == "(?i:stop)"
    both = re.compile(combined_pattern(rules))
    assert both.search("Stop: https://x.example") and not both.search("STOP only")


CONFLICTS = [  # fact, two claimed values, how to read the effective one, the most restrictive answer
    ("senders.short_code.available", True, False, lambda c: c.senders["short_code"].available, False),
    ("senders.short_code.marketing", True, False, lambda c: c.senders["short_code"].marketing, False),
    ("senders.short_code.transactional", True, False, lambda c: c.senders["short_code"].transactional, False),
    ("senders.short_code.two_way", True, False, lambda c: c.senders["short_code"].two_way, False),
    ("senders.short_code.sender_kept", True, False, lambda c: c.senders["short_code"].sender_kept, False),
    ("senders.short_code.registration", False, True, lambda c: c.senders["short_code"].registration, True),
    ("senders.short_code.lead_time_weeks", 2, 6.5, lambda c: c.senders["short_code"].lead_time_weeks, 6.5),
    ("quiet_hours.holidays", "allowed", "excluded", lambda c: c.quiet_hours.holidays, "excluded"),
    ("quiet_hours.excluded_days", ["sun"], ["sat"], lambda c: c.quiet_hours.excluded_days, ["sat", "sun"]),
    ("consent.marketing", "not_required", "required", lambda c: c.consent.marketing, "required"),
    ("consent.form", "express", "express_written", lambda c: c.consent.form, "express_written"),
    ("consent.existing_customer_exception", True, False, lambda c: c.consent.existing_customer_exception, False),
    ("consent.dnd_registry", "NCPR", "NDNC", lambda c: c.consent.dnd_registry, "NCPR; NDNC"),
    ("opt_out.keywords", ["STOP", "Arret"], ["stop", "FIN"], lambda c: c.opt_out.keywords, ["STOP", "Arret", "FIN"]),
    ("opt_out.mechanisms", ["url"], ["reply_keyword"], lambda c: c.opt_out.mechanisms, ["reply_keyword", "url"]),
    ("opt_out.deadline_days", 10, 3, lambda c: c.opt_out.deadline_days, 3),
    ("opt_out.alphanumeric_needs_short_code", False, True, lambda c: c.opt_out.alphanumeric_needs_short_code, True),
    ("content.banned", ["adult"], ["gambling"], lambda c: c.content.banned, ["adult", "gambling"]),
    ("limits.max_segments", 3, 10, lambda c: c.limits.max_segments, 3),
    (
        "message_classes",
        [{"name": "service", "meaning": "a"}],
        [{"name": "promo", "meaning": "b"}],
        lambda c: [m.name for m in c.message_classes],
        ["service", "promo"],
    ),
]


@pytest.mark.parametrize("fact,first,second,read,expected", CONFLICTS, ids=[c[0] for c in CONFLICTS])
def test_each_rule_on_two_conflicting_claims_in_either_order(fact, first, second, read, expected):
    for a, b in ((first, second), (second, first)):
        f = _file(
            [
                {"fact": fact, "value": a, "source": "law-1", "quote": "q"},
                {"fact": fact, "value": b, "source": "blog-1", "quote": "q"},
            ]
        )
        got = read(derive(f, DAY))
        if fact in ("consent.dnd_registry", "opt_out.keywords", "message_classes") and a is second:
            continue  # united in first-seen order: the order of the claims shows
        assert got == expected, (fact, a, b, got)
