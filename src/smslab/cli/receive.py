"""`smslab ingest`, `serve`, `smpp-receive`, `load`, `pull`, `conversions`: data coming back in.

Example:
    >>> from smslab.cli import cli
    >>> sorted(c for c in ("ingest", "serve", "smpp-receive", "load", "pull", "conversions") if c in cli.commands)
    ['conversions', 'ingest', 'load', 'pull', 'serve', 'smpp-receive']
"""

from __future__ import annotations

import sys
from typing import Any

import click

from smslab.cli.common import Count, OneOf, OptionError, _emit, cli, db_option, json_option, user_errors, wait_option
from smslab.receiving import formats


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(formats.choices()), default="auto", show_default=True)
@db_option
@wait_option
@json_option
@user_errors
def ingest(paths: tuple[str, ...], fmt: str, db: str | None, as_json: bool) -> None:
    """Load delivery-report and reply files (plain or .gz) into DuckDB (idempotent).

    Exits 1 when every record was quarantined (often a wrong --format).

    \b
    Example:
        smslab ingest reports.jsonl --format infobip --json
    """
    from smslab.receiving.file_ingest import ingest as run_ingest

    result = run_ingest(list(paths), fmt=fmt, db=db)
    _emit(result, as_json)
    if result["quarantined"] and not result["loaded"] and not result["duplicates"]:
        hint = (
            f"is --format {fmt} right for {', '.join(paths)}?"
            if fmt != "auto"
            else "pass --format (infobip, twilio, vonage, smpp or csv) if the format was guessed wrong"
        )
        click.echo(
            f"smslab: nothing loaded: all {result['quarantined']} record(s) quarantined (reasons in the "
            f"quarantine table); {hint}",
            err=True,
        )
        sys.exit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=Count(1, 65535), help="TCP port, 1-65535.")
@click.option(
    "--landing",
    default=None,
    type=click.Path(file_okay=False),
    help="Journal folder (default: $SMSLAB_LANDING or data/landing).",
)
@user_errors
def serve(host: str, port: int, landing: str | None) -> None:
    """Receive every provider's webhooks into the landing-zone journal (fsync before 2xx).

    \b
    Example:
        smslab serve --port 8700
        # then point Infobip at http://HOST:8700/infobip/dlr, Twilio at /twilio/status …
    """
    from smslab.receiving.webhooks import serve as run_serve

    run_serve(host=host, port=port, landing=landing)


@cli.command("smpp-receive")
@click.option(
    "--landing", default=None, type=click.Path(), help="Journal folder (default: $SMSLAB_LANDING or data/landing)."
)
@click.option(
    "--bind",
    "bind",
    type=click.Choice(["transceiver", "receiver"]),
    default="transceiver",
    show_default=True,
    help="How to bind: a transceiver (as `smslab send` does), or a receiver-only session.",
)
@click.option("--seconds", type=float, default=None, help="Stop after this long (default: run until SIGTERM/Ctrl-C).")
@user_errors
def smpp_receive(landing: str | None, bind: str, seconds: float | None) -> None:
    """Stay bound to the SMSC and journal every receipt and reply (fsynced before deliver_sm_resp).

    Settings come from SMPP_HOST, SMPP_PORT, SMPP_SYSTEM_ID and SMPP_PASSWORD. A lost link is
    bound again with back-off (1 s doubling to 60 s); SIGTERM or Ctrl-C unbinds and stops.
    `smslab load` then moves what was journalled into DuckDB.

    \b
    Example:
        smslab smpp-receive --landing data/landing &
        smslab load
    """
    import signal

    from smslab.providers.smpp import SmppProvider

    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    provider = SmppProvider(landing=landing, bind=bind)
    try:
        count = provider.receive(
            seconds=seconds,
            stop=lambda: bool(stopping),
            log=lambda line: click.echo(f"smslab smpp-receive: {line}", err=True),
        )
    finally:
        provider.close()
    click.echo(f"smslab smpp-receive: {count} receipts and replies journalled", err=True)


@cli.command()
@db_option
@click.option(
    "--landing", default=None, type=click.Path(), help="Journal folder (default: $SMSLAB_LANDING or data/landing)."
)
@wait_option
@json_option
@user_errors
def load(db: str | None, landing: str | None, as_json: bool) -> None:
    """Move the webhook journal into DuckDB (idempotent).

    \b
    Example:
        smslab load --json
    """
    from smslab.receiving.journal_load import load as run_load

    _emit(run_load(db=db, landing=landing), as_json)


@cli.command()
@click.argument("provider", type=OneOf(["infobip", "twilio"]), metavar="PROVIDER")
@click.option("--reports/--no-reports", default=True, help="infobip: fetch delivery reports (default: yes).")
@click.option(
    "--inbound/--no-inbound", default=True, help="infobip: fetch received messages, i.e. replies (default: yes)."
)
@click.option(
    "--since",
    default=None,
    metavar="DATE",
    help="twilio: messages sent on or after this day, YYYY-MM-DD in GMT (default: 6 days before --until).",
)
@click.option(
    "--until",
    default=None,
    metavar="DATE",
    help="twilio: messages sent on or before this day, YYYY-MM-DD in GMT (default: today).",
)
@click.option("--limit", type=Count(1, 1000), default=1000, show_default=True, help="Page size of each request.")
@click.option("--load", "load_", is_flag=True, help="Then move the journal into DuckDB, as `smslab load` does.")
@click.option(
    "--landing",
    default=None,
    type=click.Path(file_okay=False),
    help="Journal folder (default: $SMSLAB_LANDING or data/landing).",
)
@db_option
@wait_option
@json_option
@user_errors
def pull(
    provider: str,
    reports: bool,
    inbound: bool,
    since: str | None,
    until: str | None,
    limit: int,
    load_: bool,
    landing: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Fetch delivery reports, prices and replies from PROVIDER (infobip, twilio), for accounts without webhooks.

    infobip: Infobip hands each report and reply out once: they are written to the landing-zone
    journal first (INFOBIP_BASE_URL, INFOBIP_API_KEY). twilio: the Message resources sent from
    --since to --until (List Messages; TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN), with the final
    status, error code and the price Twilio publishes after sending. `--load` (or a later
    `smslab load`) moves them into DuckDB.

    \b
    Example:
        smslab pull infobip --load --json
        smslab pull infobip --no-inbound --limit 500
        smslab pull twilio --since 2026-12-01 --until 2026-12-07 --load
    """
    result: dict[str, Any]
    if provider == "twilio":
        from smslab.providers.twilio import pull as pull_twilio

        result = pull_twilio(since=since, until=until, page_size=limit, landing=landing)
        saved = "{messages} message(s) sent from {since} to {until}, {inbound} received message(s)"
    else:
        if since is not None or until is not None:
            raise OptionError(
                "--since/--until choose Twilio's messages; Infobip hands each report out once, "
                "so `smslab pull infobip` takes no window: leave them out",
                param_hint="'--since'",
            )
        from smslab.providers.infobip import pull as pull_infobip

        result = dict(pull_infobip(reports=reports, inbound=inbound, limit=limit, landing=landing))
        saved = "{reports} report(s), {inbound} received message(s)"
    if load_:
        from smslab.receiving.journal_load import load as run_load

        result["load"] = run_load(db=db, landing=landing)
    _emit(
        result,
        as_json,
        lambda r: (
            f"{provider}: "
            + saved.format(**r)
            + " saved to the journal"
            + (
                "; " + ", ".join(f"{k} {v}" for k, v in r["load"].items())
                if "load" in r
                else "; `smslab load` takes them from there"
            )
        ),
    )


def _conversion_code(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--region and --currency checked by the library's own checks, failing as a bad option (one line)."""
    from smslab.conversions import currency_code
    from smslab.errors import InputError
    from smslab.numbers.reference import region_code

    try:
        return region_code(value) if param.name == "region" else currency_code(value)
    except InputError as exc:
        raise OptionError(str(exc), ctx=ctx, param=param) from None


@cli.command()
@click.argument("file", type=click.Path())
@click.option(
    "--region", default=None, callback=_conversion_code, help="Default region for numbers without +CC, e.g. FR."
)
@click.option(
    "--currency", default=None, callback=_conversion_code, help="Currency of rows without a currency column, e.g. EUR."
)
@db_option
@wait_option
@json_option
@user_errors
def conversions(file: str, region: str | None, currency: str | None, db: str | None, as_json: bool) -> None:
    """Load conversions from a CSV (msisdn,time,value[,currency,reference]) into DuckDB (idempotent).

    Bad rows go to the quarantine table with their line and why; the others still load. --json
    prints {"loaded", "duplicates", "quarantined", "new_quarantined"}. Exits 1 when every row was
    quarantined, 2 when the file is missing or unreadable.

    \b
    Example:
        smslab conversions orders.csv --region FR --currency EUR --json
    """
    from smslab.conversions import import_conversions

    result = import_conversions(file, db=db, default_region=region, currency=currency)
    _emit(
        result,
        as_json,
        lambda r: (
            f"{file}: {r['loaded']} loaded, {r['duplicates']} already there, "
            f"{r['quarantined']} quarantined" + (" (reasons in the quarantine table)" if r["quarantined"] else "")
        ),
    )
    if result["quarantined"] and not result["loaded"] and not result["duplicates"]:
        click.echo(
            f"smslab: nothing loaded: all {result['quarantined']} row(s) of {file} quarantined (reasons in the "
            "quarantine table); pass --region if the numbers have no +CC",
            err=True,
        )
        sys.exit(1)
