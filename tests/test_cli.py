import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from smslab import __version__
from smslab.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_help_lists_every_design_command():
    result = run("--help")
    assert result.exit_code == 0
    for command in ["demo", "numbers", "rules", "segments", "cost", "check", "send", "ingest", "serve", "load", "report"]:
        assert command in result.output


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "smslab", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout


@pytest.mark.parametrize("name", ["demo", "numbers", "rules", "segments", "cost", "check", "send", "ingest", "serve",
                                  "load"])
def test_every_command_documents_an_example(name):
    result = run(name, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and f"smslab {name}" in result.output


def test_segments_json_is_one_valid_document():
    result = run("segments", "Prix: 10€", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["encoding"] == "GSM-7" and doc["segments"] == 1


def test_load_json_on_empty_journal():
    result = run("load", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"loaded": 0, "duplicates": 0, "quarantined": 0}


def test_an_unbuilt_capability_says_so_and_fails():
    import click

    from smslab.cli import not_available, user_errors

    @click.command()
    @user_errors
    def later():
        not_available("later", "a future issue")

    result = CliRunner().invoke(later, [])
    assert result.exit_code == 3
    assert "'later' is not available yet" in result.output


def test_user_error_is_one_line_not_a_traceback(tmp_path):
    result = run("check", str(tmp_path / "missing.yaml"), "--json")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "missing.yaml" in result.output
