"""`smslab check` and `smslab send`: the compliance pre-flight, then sending what is allowed.

Example:
    >>> throughput_setting(((None, 20.0),))
    20.0
"""

from __future__ import annotations

import math
import sys
from datetime import UTC
from typing import Any

import click

from smslab.cli.common import Count, OptionError, _emit, _OneLine, cli, db_option, json_option, user_errors, wait_option
from smslab.errors import SmslabError


@cli.command()
@click.argument("spec", type=click.Path())
@click.option("--at", "at", default=None, help="Evaluate at this ISO 8601 moment instead of send time.")
@db_option
@json_option
@user_errors
def check(spec: str, at: str | None, db: str | None, as_json: bool) -> None:
    """Compliance pre-flight of a campaign spec; exit 1 if anything blocks.

    \b
    Example:
        smslab check data/samples/campaign.yaml --json
    """
    from smslab import config
    from smslab.compliance import check as run_check

    result = run_check(spec, at=at, db=config.db_path(db)).summary()
    _emit(
        result,
        as_json,
        lambda r: "\n".join(
            [f"recipients: {r['recipients']}"]
            + [f"[{f['severity']}] {f['country'] or '*'} {f['rule']}: {f['message']}" for f in r["findings"]]
        ),
    )
    if result["blocking"]:
        sys.exit(1)


class Throughput(_OneLine, click.ParamType):
    """`MPS` (every sender) or `SENDER_ID=MPS`; MPS is a number of messages per second > 0."""

    name = "[SENDER_ID=]MPS"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str | None, float]:
        if isinstance(value, tuple):
            return value
        sender, _, rate = str(value).rpartition("=")
        if "=" in str(value) and not sender.strip():
            self.fail(f"{value!r}: the sender id before '=' is missing (expected SENDER_ID=MPS)", param, ctx)
        try:
            mps = float(rate)
        except ValueError:
            mps = None
        if mps is None or not math.isfinite(mps) or mps <= 0:
            what = f"sender {sender.strip()}: " if sender.strip() else ""
            self.fail(f"{value!r}: {what}expected messages per second, a number > 0 (e.g. 20 or 36180=30)", param, ctx)
        assert mps is not None  # fail() raised otherwise
        return (sender.strip() or None), mps


def throughput_setting(values: tuple[tuple[str | None, float], ...]) -> float | dict[str, float] | None:
    """The `throughput=` argument of `smslab.sending.send` from repeated `--throughput` values.

    One plain rate applies to every sender; `SENDER_ID=MPS` pairs give a rate per sender id
    (senders without one keep their price-sheet rate). Both at once, or a sender twice, is an error.

    Example:
        >>> throughput_setting(((None, 20.0),)), throughput_setting((("36180", 30.0), ("ACME", 2.5)))
        (20.0, {'36180': 30.0, 'ACME': 2.5})
    """
    if not values:
        return None
    plain = [rate for sender, rate in values if sender is None]
    if plain:
        if len(values) > 1:
            raise OptionError(
                "give one rate for every sender (--throughput 20) or one per sender "
                "(--throughput 36180=30 --throughput ACME=2), not both or twice",
                param_hint="'--throughput'",
            )
        return plain[0]
    rates: dict[str, float] = {}
    for sender, rate in values:
        assert sender is not None  # the plain rates (sender None) were handled above
        if sender in rates:
            raise OptionError(f"sender {sender} is given twice", param_hint="'--throughput'")
        rates[sender] = rate
    return rates


def _throughput_callback(ctx: click.Context, param: click.Parameter, values: tuple) -> Any:
    try:
        return throughput_setting(values)
    except OptionError as exc:
        exc.ctx = ctx
        raise


@cli.command()
@click.argument("spec", type=click.Path())
@click.option("--provider", default=None, help="Provider name (default: the spec's, else simulator).")
@click.option("--dry-run", is_flag=True, help="Do everything but submit.")
@click.option(
    "--throughput",
    "throughput",
    type=Throughput(),
    multiple=True,
    callback=_throughput_callback,
    help="Messages per second: MPS for every sender, or SENDER_ID=MPS (repeatable) per sender id. "
    "Default: the price sheet's rate per country and sender type (the simulator: unpaced).",
)
@click.option(
    "--batch-size",
    type=Count(1),
    default=None,
    help="Messages handed to the provider per call (default: the provider's).",
)
@click.option(
    "--max-retries",
    type=Count(0),
    default=None,
    help="Retries of a temporarily refused batch (default: 4), with exponential backoff.",
)
@click.option(
    "--now",
    "now",
    default=None,
    hidden=True,
    help="Replay: act as if it were this moment (ISO 8601 with offset); for tests and demos.",
)
@db_option
@wait_option
@json_option
@user_errors
def send(
    spec: str,
    provider: str | None,
    dry_run: bool,
    throughput: float | dict[str, float] | None,
    batch_size: int | None,
    max_retries: int | None,
    now: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Check a campaign, then send what is allowed (idempotent: never twice).

    \b
    Example:
        smslab send data/samples/campaign.yaml --json
        smslab send campaign.yaml --provider smpp --throughput 36180=30 --batch-size 50 --max-retries 2
    """
    from smslab.sending import send as run_send

    options: dict[str, Any] = {"throughput": throughput, "batch_size": batch_size}
    if max_retries is not None:
        options["max_retries"] = max_retries
    if now is not None:
        from datetime import datetime

        try:
            moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
        except ValueError:
            raise SmslabError(f"--now {now!r}: expected an ISO 8601 moment such as 2026-11-23T09:00:00Z") from None
        if moment.tzinfo is None:
            raise SmslabError(f"--now {now}: needs a UTC offset, e.g. {now}Z")
        options["now"] = moment.astimezone(UTC).replace(tzinfo=None)
    result = run_send(spec, provider=provider, dry_run=dry_run, db=db, **options)
    _emit(result, as_json)
    if result.get("blocking"):
        first = result["blocking"][0]
        click.echo(f"smslab: nothing sent: {first['message']} (run `smslab check {spec}` for every finding)", err=True)
        sys.exit(1)
    left = int(result.get("retry_later") or 0)
    if left:
        click.echo(
            f"smslab: {left} message(s) were refused for now and stay queued (the reason is in "
            "messages.error_code); run `smslab send` again later",
            err=True,
        )
