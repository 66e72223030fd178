"""User overrides, and broken rule files: one clear error naming file, country and field."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smslab.errors import InputError
from smslab.rules import load, rules_dir, sender_allowed

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def test_override_merges_over_the_builtin():
    rs = load(FIXTURES / "override_fr_saturday.yaml")
    fr = rs.country("FR")
    assert fr.quiet_hours.allowed["sat"] == ["08:00-20:30"]
    assert fr.quiet_hours.allowed["mon"] == ["08:00-20:30"]  # untouched keys survive the merge
    assert fr.quiet_hours.holidays == "excluded"
    assert load().country("FR").quiet_hours.allowed["sat"] == []  # the built-in is unchanged


def test_override_from_environment(monkeypatch):
    monkeypatch.setenv("SMSLAB_RULES", str(FIXTURES / "override_fr_saturday.yaml"))
    assert load().country("FR").quiet_hours.allowed["sat"] == ["08:00-20:30"]


def test_override_can_add_a_complete_country():
    rs = load(FIXTURES / "override_new_country.yaml")
    assert "LU" in rs
    assert sender_allowed("LU", "long_code", purpose="marketing", two_way=True, ruleset=rs)[0]
    assert not sender_allowed("LU", "short_code", purpose="marketing", two_way=False, ruleset=rs)[0]


@pytest.mark.parametrize(
    "name,expected",
    [
        ("broken_bad_value.yaml", ["country FR", "quiet_hours.holidays", "'sometimes'"]),
        ("broken_yaml.yaml", ["invalid YAML", "line"]),
        ("broken_window.yaml", ["country FR", "quiet_hours.allowed", "20:00-08:00"]),
        ("broken_incomplete_country.yaml", ["country LU", "required field is missing"]),
        ("broken_no_countries_key.yaml", ["countries"]),
        ("broken_type.yaml", ["country FR", "senders.short_code.lead_time_weeks"]),
        ("broken_category.yaml", ["country FR", "content.banned", "spaceships"]),
    ],
)
def test_broken_override_gets_one_clear_error(name, expected):
    path = FIXTURES / name
    with pytest.raises(InputError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, message
    assert "\n" not in message


def test_missing_override_file():
    with pytest.raises(InputError, match="no such rules file"):
        load(FIXTURES / "nope.yaml")


def test_broken_builtin_file_names_file_country_and_field(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(rules_dir(), folder)
    text = (folder / "KE.yaml").read_text(encoding="utf-8")
    text = re.sub(r"\n *alphanumeric_needs_short_code: true", "", text)
    (folder / "KE.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load(directory=folder)
    assert "KE.yaml" in str(info.value) and "country KE" in str(info.value)
    assert "opt_out.alphanumeric_needs_short_code" in str(info.value)


def test_unknown_source_key_is_an_error(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(rules_dir(), folder)
    text = (folder / "FR.yaml").read_text(encoding="utf-8")
    (folder / "FR.yaml").write_text(text.replace("sources: [CNIL, T]", "sources: [CNIL, NOPE]"), encoding="utf-8")
    with pytest.raises(InputError, match="NOPE not defined under sources"):
        load(directory=folder)


def test_cli_broken_override_prints_one_line_no_traceback(tmp_path):
    env = {"SMSLAB_RULES": str(FIXTURES / "broken_bad_value.yaml"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "smslab", "rules", "FR", "--json"], capture_output=True, text=True, env=env
    )
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "quiet_hours.holidays" in proc.stderr


def test_cli_rules_json_shape():
    import json

    proc = subprocess.run([sys.executable, "-m", "smslab", "rules", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data) >= 30
    for country in data:
        assert country["sources"] and all(u.startswith("https://") for u in country["sources"])
        assert country["checked"] == "2026-11-24"
        assert set(country["senders"]) == {"short_code", "long_code", "toll_free", "alphanumeric"}
