"""The `smslab` command: thin, same-name wrappers over library functions.

One module per step of the flow registers its commands on the root group `cli`
(`smslab.cli.common`): planning (`plan`), checking and sending (`send`), data coming back
(`receive`) and reports (`report`). `main` is the console entry point.

Example:
    >>> from smslab.cli import cli
    >>> "send" in cli.commands and "report" in cli.commands
    True
"""

from __future__ import annotations

import sys

import click

from smslab.cli import plan, receive, report, send  # noqa: F401  (each registers its commands on `cli`)
from smslab.cli.common import EXIT_LOCKED, OptionError, cli, user_errors
from smslab.cli.send import Throughput, throughput_setting

__all__ = ["cli", "main", "user_errors", "OptionError", "EXIT_LOCKED", "Throughput", "throughput_setting"]


def main() -> None:
    """Console entry point: usage errors too are one line on stderr (exit 2), never a usage block."""
    try:
        code = cli.main(prog_name="smslab", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "smslab"
        click.echo(f"smslab: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"smslab: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("smslab: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
