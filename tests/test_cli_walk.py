"""Every command and subcommand of `smslab`, found by walking the click tree (no list to keep up).

Each one: `--help` exits 0; its help has an `Example` with at least one `smslab <its path> …` line,
and each such line parses against that command (options it has, the right number of values);
every command that prints a result has `--json`, except the few on `NO_JSON`.
"""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

from smslab.cli import cli

# Commands that print no result to take as JSON, with why. Keep this short.
NO_JSON = {
    ("serve",): "long-running webhook server: its output is the journal on disk, not a result on stdout",
    ("smpp-receive",): "long-running SMPP session: journals what it receives until stopped, prints no result",
}


def walk(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    """(path, command) for the group itself and everything under it, depth first."""
    found: list[tuple[tuple[str, ...], click.Command]] = [(path, group)]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found += walk(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


def _resolve(root: click.Group, words: list[str]) -> tuple[click.Command, list[str]]:
    """The command that a command line names, and the arguments left for it."""
    command: click.Command = root
    while isinstance(command, click.Group) and words and words[0] in command.commands:
        command, words = command.commands[words[0]], words[1:]
    return command, words


def _parse(command: click.Command, words: list[str]) -> str | None:
    """Why `words` are not a valid command line for `command`: an option it does not have, an option
    without its values, a missing or extra argument. Types and file paths are not checked (the
    examples name files of the user's), and nothing runs."""
    parser = command.make_parser(click.Context(command, info_name=command.name))
    try:
        values, extra, _ = parser.parse_args(list(words))
    except click.UsageError as exc:
        return exc.format_message()
    if extra:
        return f"unexpected argument(s) {extra}"
    for param in command.params:
        value = values.get(param.name) if param.name else None
        given = isinstance(value, str) or (isinstance(value, (tuple, list)) and len(value) > 0)
        if isinstance(param, click.Argument) and param.required and not given:
            return f"missing argument {param.human_readable_name}"
    return None


def problems(root: click.Group, no_json: dict[tuple[str, ...], str]) -> list[str]:
    """What is missing, one line per command and problem; empty when every command is documented."""
    found: list[str] = []
    runner = CliRunner()
    commands = walk(root)
    paths = {path for path, _ in commands}
    found += [f"{' '.join(p)}: on the no-JSON list but not a command" for p in no_json if p not in paths]
    for path, command in commands:
        name = " ".join(("smslab", *path))
        result = runner.invoke(root, [*path, "--help"])
        if result.exit_code != 0:
            found.append(f"{name}: --help exits {result.exit_code}")
            continue
        help_text = result.output
        if "Example" not in help_text:
            found.append(f"{name}: no Example in --help")
        section = help_text.split("Example", 1)[-1].split("\nOptions:", 1)[0].split("\nCommands:", 1)[0]
        examples = (
            [
                line.strip()
                for line in section.splitlines()
                if line.strip() == name or line.strip().startswith(name + " ")
            ]
            if "Example" in help_text
            else []
        )
        if not examples:
            found.append(f"{name}: no example line starting `{name}`")
        for line in examples:
            words = shlex.split(line, comments=True)
            words = words[:-1] if words and words[-1] == "&" else words
            target, rest = _resolve(root, words[1:])
            trouble = _parse(target, rest)
            if trouble:
                found.append(f"{name}: example `{line}` does not parse: {trouble}")
        options = {opt for param in command.params for opt in param.opts}
        if isinstance(command, click.Group):
            continue  # a group only dispatches: its subcommands print the results
        if path in no_json:
            if "--json" in options:
                found.append(f"{name}: has --json now, take it off the no-JSON list")
        elif "--json" not in options:
            found.append(f"{name}: prints a result but has no --json")
    return found


def test_every_command_has_help_an_example_and_json() -> None:
    found = problems(cli, NO_JSON)
    assert not found, "\n".join(found)


def test_the_walk_finds_every_level() -> None:
    paths = {path for path, _ in walk(cli)}
    assert {(), ("report",), ("report", "run"), ("serve",)} <= paths
    assert len(paths) >= 10


def test_the_walk_reports_what_is_missing() -> None:
    """The checker itself can fail: a command with no example, one whose example names another option,
    one without --json, and a stale no-JSON entry are each reported."""

    @click.group()
    def app() -> None:
        """Demo.

        \b
        Example:
            smslab good --json
        """

    @app.command()
    @click.option("--json", "as_json", is_flag=True)
    def good(as_json: bool) -> None:
        """Good.

        \b
        Example:
            smslab good --json
        """

    @app.command()
    @click.option("--json", "as_json", is_flag=True)
    def bare(as_json: bool) -> None:
        """No example here."""

    @app.command()
    @click.option("--json", "as_json", is_flag=True)
    def typo(as_json: bool) -> None:
        """Example:

        \b
            smslab typo --jsn
        """

    @app.command()
    def quiet() -> None:
        """Example:

        \b
            smslab quiet
        """

    @app.command()
    @click.argument("spec")
    @click.option("--json", "as_json", is_flag=True)
    def short(spec: str, as_json: bool) -> None:
        """Example:

        \b
            smslab short --json
        """

    found = problems(app, {("gone",): "removed", ("good",): "prints nothing"})
    assert [
        "gone: on the no-JSON list but not a command",
        "smslab bare: no Example in --help",
        "smslab bare: no example line starting `smslab bare`",
        "smslab good: has --json now, take it off the no-JSON list",
        "smslab quiet: prints a result but has no --json",
        "smslab short: example `smslab short --json` does not parse: missing argument SPEC",
    ] == found[:-1]
    assert found[-1].startswith("smslab typo: example `smslab typo --jsn` does not parse: No such option '--jsn'")


@pytest.mark.parametrize("path", sorted(NO_JSON))
def test_no_json_entries_say_why(path: tuple[str, ...]) -> None:
    assert len(NO_JSON[path]) > 20
