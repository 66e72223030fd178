"""What every `smslab` command shares: the root group, one-line errors, option types, output.

Every command takes `--json` to print exactly one JSON document on stdout. User mistakes
(`SmslabError`) become one line on stderr and a non-zero exit, never a traceback.

Example:
    >>> Count(1, 10).convert("3", None, None)
    3
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from smslab.errors import DatabaseLockedError, NotAvailableError, SmslabError

EXIT_LOCKED = 4


def _emit(result: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print a result: one JSON document with --json, else a readable summary."""
    if as_json:
        click.echo(json.dumps(result, default=str, ensure_ascii=False))
    elif human is not None:
        click.echo(human(result))
    else:
        click.echo(json.dumps(result, default=str, ensure_ascii=False, indent=2))


def user_errors(fn: Callable) -> Callable:
    """Turn a SmslabError into `smslab: <message>` on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotAvailableError as exc:
            click.echo(f"smslab: {exc}", err=True)
            sys.exit(3)
        except DatabaseLockedError as exc:
            click.echo(f"smslab: {exc}", err=True)
            sys.exit(EXIT_LOCKED)
        except SmslabError as exc:
            click.echo(f"smslab: {exc}", err=True)
            sys.exit(2)

    return wrapper


class OptionError(click.BadParameter):
    """A bad option value, shown like every other user error: `smslab: <message>`, one line, exit 2."""

    def show(self, file: Any = None) -> None:
        click.echo(f"smslab: {self.format_message()}", err=True)


class _OneLine:
    def fail(self, message: str, param: Any = None, ctx: Any = None) -> NoReturn:
        raise OptionError(message, ctx=ctx, param=param)


class Count(_OneLine, click.IntRange):
    """A whole number from `minimum` (to `maximum`), failing in one line."""

    name = "integer"

    def __init__(self, minimum: int, maximum: int | None = None) -> None:
        super().__init__(min=minimum, max=maximum)


class Number(_OneLine, click.FloatRange):
    """A finite number (no nan, no inf) within the range, failing in one line."""

    name = "number"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; expected e.g. 3 or 0.5", param, ctx)
        return number


class OneOf(_OneLine, click.Choice):
    """click.Choice, failing in one line."""


db_option = click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False),
    default=None,
    help="DuckDB file (default: $SMSLAB_DB or data/smslab.duckdb).",
)


def _set_wait(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """--wait goes to the environment, so that notebooks run by `report run` wait as long."""
    import os

    if value is not None:
        os.environ["SMSLAB_WAIT"] = repr(float(value))
    return value


wait_option = click.option(
    "--wait",
    "wait",
    type=Number(0, 86400),
    default=None,
    callback=_set_wait,
    expose_value=False,
    metavar="SECONDS",
    help="Wait this long for a database locked by another process (default: $SMSLAB_WAIT or 60); "
    "then exit 4 naming the process.",
)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="smslab", prog_name="smslab")  # read from the metadata when asked
def cli() -> None:
    """smslab — plan, check, send and analyse two-way SMS campaigns.

    \b
    Example:
        smslab demo --messages 300
        smslab segments "Black Friday: -30% today. STOP au 36180" --json
    """
