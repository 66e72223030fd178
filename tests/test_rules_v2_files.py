"""Schema-2 files: every validation problem is one clear line (file, country, claim, field); the
loader reads them beside schema-1 files, derives per day, and applies overrides after derivation."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from smslab.errors import InputError
from smslab.rules import load, problems, rules_dir
from smslab.rules.loader import day_of

V2 = Path(__file__).parent / "fixtures" / "rules_v2"
FR = yaml.safe_load((V2 / "FR.yaml").read_text(encoding="utf-8"))


def _broken(change) -> dict:
    data = copy.deepcopy(FR)
    change(data)
    return data


def _set(path: list, value):
    def change(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


BROKEN = [
    (
        "bare domain",
        _set(["sources", "blog", "url"], "https://example-vendor.fr/"),
        ["sources.blog.url", "bare domain"],
    ),
    (
        "unknown source key",
        _set(["claims", 3, "source"], "nope"),
        ["claims[3].source", "'nope'", "not a key of sources"],
    ),
    (
        "bad window",
        _set(["claims", 2, "value", "mon"], ["20:00-08:00"]),
        ["claims[2].value: mon", "20:00-08:00", "end after it starts"],
    ),
    ("missing day", lambda d: d["claims"][2]["value"].pop("sat"), ["claims[2].value", "missing sat"]),
    ("unknown fact", _set(["claims", 5, "fact"], "quiet_hours.maybe"), ["claims[5].fact", "unknown fact"]),
    (
        "until <= from",
        _set(["claims", 1, "effective_until"], date(2025, 12, 1)),
        ["claims[1].effective_until", "not after effective_from"],
    ),
    (
        "until == from",
        _set(["claims", 1, "effective_until"], date(2026, 1, 1)),
        ["claims[1].effective_until", "not after effective_from"],
    ),
    ("bad value type", _set(["claims", 13, "value"], "ten weeks"), ["claims[13].value", "valid number"]),
    ("bad category", _set(["claims", 15, "value"], ["spaceships"]), ["claims[15].value[0]", "spaceships"]),
    (
        "bad regex",
        _set(["claims", 6, "value", "patterns"], ["STOP("]),
        ["claims[6].value.patterns[0]", "not a valid regular expression"],
    ),
    ("offered from a non-provider", _set(["claims", 11, "source"], "blog"), ["claims[11].source", "kind provider"]),
    ("region not a subdivision", _set(["claims", 4, "region"], "FR-75"), ["claims[4].region", "subdivisions"]),
    ("sender_types where not taken", _set(["claims", 4, "sender_types"], ["alphanumeric"]), ["claims[4].sender_types"]),
    ("quote missing", lambda d: d["claims"][0].pop("quote"), ["claims[0].quote", "required field is missing"]),
    ("quote too long", _set(["claims", 0, "quote"], "x" * 301), ["claims[0].quote", "300"]),
    ("unknown kind", _set(["sources", "blog", "kind"], "gossip"), ["sources.blog.kind", "'gossip'"]),
    ("checked missing", lambda d: d["sources"]["blog"].pop("checked"), ["sources.blog.checked", "missing"]),
    ("read_as missing", lambda d: d["sources"]["blog"].pop("read_as"), ["sources.blog.read_as", "missing"]),
    ("extra field", _set(["claims", 0, "confidence"], "high"), ["claims[0].confidence", "unknown field"]),
    ("upper-case source key", lambda d: d["sources"].update(T=d["sources"]["blog"]), ["sources.T", "lower-case"]),
]


@pytest.mark.parametrize("name,change,expected", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_problem_is_one_clear_line(name, change, expected):
    lines = problems(_broken(change), "FR.yaml", cc="FR")
    assert len(lines) == 1, lines
    assert lines[0].startswith("FR.yaml: country FR: "), lines[0]
    for part in expected:
        assert part in lines[0], lines[0]
    assert "\n" not in lines[0]


def test_the_fixtures_are_valid():
    for path in V2.glob("*.yaml"):
        assert problems(yaml.safe_load(path.read_text(encoding="utf-8")), str(path), cc=path.stem) == []


def test_every_problem_is_listed_and_the_loader_reports_the_first(tmp_path):
    data = _broken(lambda d: (_set(["claims", 3, "source"], "nope")(d), _set(["claims", 5, "fact"], "x.y")(d)))
    assert len(problems(data, "FR.yaml", cc="FR")) == 2
    (tmp_path / "FR.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load(directory=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "FR.yaml") in message and "country FR" in message and "claims[3].source" in message
    assert "and 1 more problem" in message and "\n" not in message


def test_unknown_schema_version(tmp_path):
    (tmp_path / "FR.yaml").write_text(yaml.safe_dump({**FR, "schema": 3}), encoding="utf-8")
    with pytest.raises(InputError, match="schema: 3 is not known"):
        load(directory=tmp_path)


def test_loader_derives_the_rules_in_force_on_the_day():
    rs = load(directory=V2, at=date(2025, 6, 1))
    assert rs.day == date(2025, 6, 1) and rs.countries() == ["FR", "US"]
    fr_2025 = rs.country("FR")
    fr_2026 = rs.at(date(2026, 6, 1)).country("FR")
    assert fr_2025.quiet_hours.holidays == "excluded" and fr_2025.caps is None
    assert fr_2026.caps[0].max == 4  # the 2026 charter's cap
    assert "https" in fr_2026.opt_out.wording_pattern and "https" not in fr_2025.opt_out.wording_pattern
    assert fr_2026.effective_on == date(2026, 6, 1) and fr_2026.schema_version == 2
    # an aware datetime counts by its UTC day
    late = datetime(2025, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert day_of(late) == date(2026, 1, 1) and rs.at(late).country("FR").caps is not None


def test_derivation_is_cached_per_set_of_claims_in_force():
    rs = load(directory=V2)
    a = rs.at(date(2026, 3, 1))
    before = len(rs._derived)
    b = rs.at(date(2026, 9, 1))  # the same claims in force: nothing derived again
    assert len(rs._derived) == before
    assert a.country("FR").effective_on != b.country("FR").effective_on
    assert a.country("FR").quiet_hours is b.country("FR").quiet_hours
    rs.at(date(2025, 1, 1))  # another set: derived once more
    assert (
        len(rs._derived) > before
        or ("FR", tuple(i for i, c in enumerate(rs.claim_files["FR"].claims) if c.in_force(date(2025, 1, 1))))
        in rs._derived
    )


def test_load_returns_todays_rules_and_v1_files_still_load():
    assert load(directory=V2).day == datetime.now(UTC).date()
    assert load().country("FR").schema_version == 1 and load().country("FR").quiet_hours.holidays == "excluded"


def test_mixed_directory_of_schema_1_and_schema_2(tmp_path):
    shutil.copy(V2 / "FR.yaml", tmp_path / "FR.yaml")
    shutil.copy(rules_dir() / "KE.yaml", tmp_path / "KE.yaml")
    rs = load(directory=tmp_path)
    assert rs.country("FR").schema_version == 2 and rs.country("KE").schema_version == 1


OVERRIDE = {
    "countries": {
        "FR": {
            "quiet_hours": {"allowed": {"sun": ["10:00-12:00"]}, "holidays": "allowed"},
            "opt_out": {"wording_pattern": "STOP", "wording_required": True},
        }
    }
}


def test_override_applies_after_derivation_and_is_recorded(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(OVERRIDE), encoding="utf-8")
    rs = load(path, directory=V2)
    for day in (date(2025, 6, 1), date(2026, 6, 1)):
        fr = rs.at(day).country("FR")
        assert fr.quiet_hours.allowed["sun"] == ["10:00-12:00"] and fr.quiet_hours.sundays_excluded is False
        assert fr.quiet_hours.allowed["mon"] == ["08:00-20:30"]  # the derived days survive the merge
        assert fr.quiet_hours.holidays == "allowed"
        assert fr.overridden == [
            "opt_out.wording_pattern",
            "opt_out.wording_required",
            "quiet_hours.allowed.sun",
            "quiet_hours.holidays",
        ]
        assert fr.override_file == str(path)
        assert [w.patterns for w in fr.opt_out.wordings] == [["STOP"]]  # kept consistent with the pattern
    assert load(directory=V2).country("FR").overridden == []


def test_override_errors_name_the_override_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"countries": {"FR": {"quiet_hours": {"holidays": "sometimes"}}}}), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load(path, directory=V2)
    assert str(path) in str(info.value) and "quiet_hours.holidays" in str(info.value)


def test_v1_override_is_recorded_too(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"countries": {"FR": {"limits": {"max_segments": 3}}}}), encoding="utf-8")
    fr = load(path).country("FR")
    assert fr.limits.max_segments == 3 and fr.overridden == ["limits.max_segments"] and fr.override_file == str(path)


def test_cli_check_lists_every_problem(tmp_path):
    bad = tmp_path / "FR.yaml"
    bad.write_text(yaml.safe_dump(_broken(_set(["sources", "blog", "url"], "https://x.example"))), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "smslab", "rules", "--check", str(bad), "--check", str(V2 / "US.yaml")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert run.stdout.strip().splitlines() == [
        f"{bad}: country FR: sources.blog.url: 'https://x.example' is a bare domain; cite the specific page"
    ]
