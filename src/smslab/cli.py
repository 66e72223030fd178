"""The `smslab` command: thin, same-name wrappers over library functions.

Every command takes `--json` to print exactly one JSON document on stdout. User mistakes
(`SmslabError`) become one line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from datetime import UTC
from typing import Any, NoReturn

import click

from smslab import __version__
from smslab.errors import DatabaseLockedError, NotAvailableError, SmslabError
from smslab.receiving import formats

# Exit codes: 0 done; 1 the command ran and found a problem (check blocks, nothing sent, every
# ingested record quarantined); 2 a user error (bad option, input file, spec, database path);
# 3 not available yet; 4 the database stayed locked by another process for longer than --wait.
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


db_option = click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                         help="DuckDB file (default: $SMSLAB_DB or data/smslab.duckdb).")


def _set_wait(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """--wait goes to the environment, so that notebooks run by `report run` wait as long."""
    import os

    if value is not None:
        os.environ["SMSLAB_WAIT"] = repr(float(value))
    return value


wait_option = click.option(
    "--wait", "wait", type=Number(0, 86400), default=None, callback=_set_wait, expose_value=False,
    metavar="SECONDS", help="Wait this long for a database locked by another process (default: $SMSLAB_WAIT or 60); "
                            "then exit 4 naming the process.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="smslab")
def cli() -> None:
    """smslab — plan, check, send and analyse two-way SMS campaigns.

    \b
    Example:
        smslab demo --messages 300
        smslab segments "Black Friday: -30% today. STOP au 36180" --json
    """


@cli.command()
@click.option("--messages", type=click.IntRange(1), default=400, show_default=True, help="Audience size.")
@click.option("--seed", type=int, default=7, show_default=True, help="Simulator seed.")
@click.option("--reports/--no-reports", default=True, help="Run the notebooks and export HTML.")
@db_option
@json_option
@user_errors
def demo(messages: int, seed: int, reports: bool, db: str | None, as_json: bool) -> None:
    """Run a simulated multi-country two-way campaign end to end.

    \b
    Example:
        smslab demo --messages 500 --seed 7
    """
    from smslab.demo import demo as run_demo

    result = run_demo(messages=messages, seed=seed, db=db, reports=reports)
    _emit(result, as_json, lambda r: "\n".join(
        [f"demo database: {r['db']}", f"messages: {r['messages']}"]
        + [f"report: {p}" for p in r["reports"]]))


@cli.command()
@click.argument("file", type=click.Path())
@click.option("--column", required=True, help="Column holding the phone numbers.")
@click.option("--region", default=None, help="Default region for numbers without +CC, e.g. FR.")
@click.option("--out", default=None, type=click.Path(), help="Write the normalised table (CSV or Parquet).")
@json_option
@user_errors
def numbers(file: str, column: str, region: str | None, out: str | None, as_json: bool) -> None:
    """Normalise a column of phone numbers.

    \b
    Example:
        smslab numbers audience.csv --column msisdn --region FR --json
    """
    from smslab.numbers import normalize_file

    _emit(normalize_file(file, column=column, region=region, out=out), as_json)


@cli.command()
@click.argument("country", required=False)
@click.option("--audit", "do_audit", is_flag=True,
              help="Per fact: its sources (kind, age), single-source, stale and unknown facts.")
@click.option("--at", "at", default=None, help="The rules in force on this day (YYYY-MM-DD; default today).")
@click.option("--check", "check", multiple=True, type=click.Path(dir_okay=False),
              help="Validate schema-2 files and list every problem (repeatable); exit 1 if any.")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Read the country files from this folder instead of data/rules.")
@json_option
@user_errors
def rules(country: str | None, do_audit: bool, at: str | None, check: tuple[str, ...], directory: str | None,
          as_json: bool) -> None:
    """Show the country rules dataset (one country or all), audit its sources, or check files.

    \b
    Example:
        smslab rules FR --json
        smslab rules --audit FR
        smslab rules --dir data/rules-v2 --at 2027-01-01 US --json
        smslab rules --check data/rules/FR.yaml
    """
    from datetime import date

    from smslab.errors import InputError
    from smslab.rules import load as load_rules
    from smslab.rules.audit import audit, audit_text
    from smslab.rules.claims import check_files
    from smslab.rules.export import as_json_list

    if check:
        if country:
            raise InputError(f"--check takes one file each: --check {country} (not a country with --check)")
        found = check_files(check)
        _emit(found, as_json, lambda r: "\n".join(line for lines in r.values() for line in lines)
              or f"{len(r)} file(s): no problems")
        if any(found.values()):
            sys.exit(1)
        return
    try:
        day = date.fromisoformat(at) if at else None
    except ValueError:
        raise InputError(f"--at: {at!r} is not a date like 2026-12-06") from None
    ruleset = load_rules(at=day, directory=directory)
    if do_audit:
        _emit(audit(ruleset, country), as_json, audit_text)
        return
    result = as_json_list(ruleset, country)
    _emit(result, as_json, lambda r: "\n".join(
        f"{c['country']}  {c['name']:<22} senders: "
        + ", ".join(t for t, v in c["senders"].items() if v["available"])
        + f"; checked {c['checked']}; {len(c['sources'])} source(s)"
        + (f"; overridden: {', '.join(c['overridden'])}" if c.get("overridden") else "") for c in r))


@cli.command()
@click.argument("text")
@json_option
@user_errors
def segments(text: str, as_json: bool) -> None:
    """Encoding and segment count of a message text.

    \b
    Example:
        smslab segments "Prix: 10€ — STOP au 36180" --json
    """
    from dataclasses import asdict

    from smslab.segments import count, gsm_safe

    result = asdict(count(text))
    safe = gsm_safe(text)
    if safe.text != text:
        result["gsm_safe"] = {"text": safe.text, "encoding": safe.after.encoding, "segments": safe.after.segments,
                              "saved": safe.saved, "replaced": safe.replaced}
    _emit(result, as_json, lambda r: f"{r['encoding']}, {r['segments']} segment(s), {r['units']} units"
          + (f"; forcing UCS-2: {' '.join(repr(c) for c in r['non_gsm'])}" if r["non_gsm"] else "")
          + (f"\ngsm_safe: {r['gsm_safe']['segments']} segment(s), saves {r['gsm_safe']['saved']}: "
             f"{r['gsm_safe']['text']}" if "gsm_safe" in r else ""))


@cli.command()
@click.option("--country", required=True, help="Two-letter destination country, e.g. FR.")
@click.option("--monthly-volume", type=click.IntRange(0), required=True, help="Messages per month.")
@click.option("--months", type=Number(0, min_open=True), required=True, help="Campaign length in months.")
@click.option("--two-way", is_flag=True, help="Replies expected (keywords, opt-outs).")
@click.option("--purpose", type=click.Choice(["marketing", "transactional"]), default="marketing")
@click.option("--segments", "segments_", type=click.IntRange(1), default=1, help="Parts per message.")
@click.option("--reply-rate", type=Number(0, 10), default=None,
              help="Replies per message sent, to cost inbound traffic.")
@click.option("--launch-in-weeks", type=Number(), default=None, help="Flag options whose lead time is longer.")
@click.option("--currency", default=None, help="Convert totals to this currency (rate table needed).")
@click.option("--prices", type=click.Path(dir_okay=False), default=None,
              help="Your price sheet (CSV) over the built-in one.")
@click.option("--rates", type=click.Path(dir_okay=False), default=None, help="Your currency rate table (CSV).")
@json_option
@user_errors
def cost(country: str, monthly_volume: int, months: float, two_way: bool, purpose: str, segments_: int,
         reply_rate: float | None, launch_in_weeks: float | None, currency: str | None, prices: str | None,
         rates: str | None, as_json: bool) -> None:
    """Compare sender types (short code, VLN, toll-free, alphanumeric) for a country.

    \b
    Example:
        smslab cost --country FR --monthly-volume 50000 --months 3 --two-way --json
    """
    from smslab.costs import describe, plan, plan_json

    result = plan(country, monthly_volume=monthly_volume, months=months, two_way=two_way, purpose=purpose,
                  segments=segments_, reply_rate=reply_rate, launch_in_weeks=launch_in_weeks, currency=currency,
                  prices=prices, rates=rates, require_rates=currency is not None)
    if as_json:
        _emit(plan_json(result), True)
    else:
        click.echo(describe(result))


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
    _emit(result, as_json, lambda r: "\n".join(
        [f"recipients: {r['recipients']}"]
        + [f"[{f['severity']}] {f['country'] or '*'} {f['rule']}: {f['message']}" for f in r["findings"]]))
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
            self.fail(f"{value!r}: {what}expected messages per second, a number > 0 (e.g. 20 or 36180=30)",
                      param, ctx)
        assert mps is not None  # fail() raised otherwise
        return (sender.strip() or None), mps


class OneOf(_OneLine, click.Choice):
    """click.Choice, failing in one line."""


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
            raise OptionError("give one rate for every sender (--throughput 20) or one per sender "
                              "(--throughput 36180=30 --throughput ACME=2), not both or twice",
                              param_hint="'--throughput'")
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
@click.option("--throughput", "throughput", type=Throughput(), multiple=True, callback=_throughput_callback,
              help="Messages per second: MPS for every sender, or SENDER_ID=MPS (repeatable) per sender id. "
                   "Default: the price sheet's rate per country and sender type (the simulator: unpaced).")
@click.option("--batch-size", type=Count(1), default=None,
              help="Messages handed to the provider per call (default: the provider's).")
@click.option("--max-retries", type=Count(0), default=None,
              help="Retries of a temporarily refused batch (default: 4), with exponential backoff.")
@click.option("--now", "now", default=None, hidden=True,
              help="Replay: act as if it were this moment (ISO 8601 with offset); for tests and demos.")
@db_option
@wait_option
@json_option
@user_errors
def send(spec: str, provider: str | None, dry_run: bool, throughput: float | dict[str, float] | None,
         batch_size: int | None, max_retries: int | None, now: str | None, db: str | None, as_json: bool) -> None:
    """Check a campaign, then send what is allowed (idempotent: never twice).

    \b
    Example:
        smslab send data/samples/campaign.yaml --json
        smslab send campaign.yaml --provider smpp --throughput 36180=30 --batch-size 50 --max-retries 2
    """
    from smslab.sending import send as run_send

    if isinstance(throughput, dict):
        from smslab.campaign import load_spec

        senders = sorted({s.id for s in load_spec(spec).senders.values()})
        unknown = sorted(set(throughput) - set(senders))
        if unknown:
            raise SmslabError(f"--throughput: no sender {', '.join(unknown)} in {spec} "
                              f"(its senders: {', '.join(senders)})")
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
        click.echo(f"smslab: {left} message(s) were refused for now and stay queued (the reason is in "
                   "messages.error_code); run `smslab send` again later", err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(formats.choices()),
              default="auto", show_default=True)
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
        hint = (f"is --format {fmt} right for {', '.join(paths)}?" if fmt != "auto"
                else "pass --format (infobip, twilio, vonage, smpp or csv) if the format was guessed wrong")
        click.echo(f"smslab: nothing loaded: all {result['quarantined']} record(s) quarantined (reasons in the "
                   f"quarantine table); {hint}", err=True)
        sys.exit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=Count(1, 65535), help="TCP port, 1-65535.")
@click.option("--landing", default=None, type=click.Path(file_okay=False),
              help="Journal folder (default: $SMSLAB_LANDING or data/landing).")
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
@click.option("--landing", default=None, type=click.Path(),
              help="Journal folder (default: $SMSLAB_LANDING or data/landing).")
@click.option("--bind", "bind", type=click.Choice(["transceiver", "receiver"]), default="transceiver",
              show_default=True,
              help="How to bind: a transceiver (as `smslab send` does), or a receiver-only session.")
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
        count = provider.receive(seconds=seconds, stop=lambda: bool(stopping),
                                 log=lambda line: click.echo(f"smslab smpp-receive: {line}", err=True))
    finally:
        provider.close()
    click.echo(f"smslab smpp-receive: {count} receipts and replies journalled", err=True)


@cli.command()
@db_option
@click.option("--landing", default=None, type=click.Path(),
              help="Journal folder (default: $SMSLAB_LANDING or data/landing).")
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
@click.argument("provider", type=OneOf(["infobip"]), metavar="PROVIDER")
@click.option("--reports/--no-reports", default=True, help="Fetch delivery reports (default: yes).")
@click.option("--inbound/--no-inbound", default=True, help="Fetch received messages, i.e. replies (default: yes).")
@click.option("--limit", type=Count(1, 1000), default=1000, show_default=True, help="Page size of each request.")
@click.option("--load", "load_", is_flag=True, help="Then move the journal into DuckDB, as `smslab load` does.")
@click.option("--landing", default=None, type=click.Path(file_okay=False),
              help="Journal folder (default: $SMSLAB_LANDING or data/landing).")
@db_option
@wait_option
@json_option
@user_errors
def pull(provider: str, reports: bool, inbound: bool, limit: int, load_: bool, landing: str | None, db: str | None,
         as_json: bool) -> None:
    """Fetch delivery reports and replies from PROVIDER (infobip), for accounts without webhooks.

    Infobip hands each report and reply out once: they are written to the landing-zone journal
    first (INFOBIP_BASE_URL, INFOBIP_API_KEY), and `--load` (or a later `smslab load`) moves
    them into DuckDB.

    \b
    Example:
        smslab pull infobip --load --json
        smslab pull infobip --no-inbound --limit 500
    """
    from smslab.providers.infobip import pull as run_pull

    result: dict[str, Any] = run_pull(reports=reports, inbound=inbound, limit=limit, landing=landing)
    if load_:
        from smslab.receiving.journal_load import load as run_load

        result["load"] = run_load(db=db, landing=landing)
    _emit(result, as_json, lambda r: f"{provider}: {r['reports']} report(s), {r['inbound']} received message(s) "
          "saved to the journal"
          + ("; " + ", ".join(f"{k} {v}" for k, v in r["load"].items()) if "load" in r
             else "; `smslab load` takes them from there"))


@cli.group()
def report() -> None:
    """Run the parameterised notebooks and export HTML."""


@report.command("list")
@json_option
@user_errors
def report_list(as_json: bool) -> None:
    """List the notebooks that can be run.

    \b
    Example:
        smslab report list --json
    """
    from smslab.reporting import list_reports

    def human(reports: list) -> str:
        lines = []
        for x in reports:
            last = x["latest"]
            lines.append(f"{x['name']}: {x['description']}")
            lines.append(f"  parameters: {', '.join(x['parameters']) or 'none'}; last run: "
                         + (f"{last['finished_at']} → {last['html']}" if last else "never"))
        return "\n".join(lines)

    _emit(list_reports(), as_json, human)


@report.command("run")
@click.argument("name")
@click.option("-p", "--parameter", "parameters", nargs=2, multiple=True, metavar="KEY VALUE")
@click.option("--output-dir", default=None, type=click.Path(file_okay=False))
@wait_option
@json_option
@user_errors
def report_run(name: str, parameters: tuple[tuple[str, str], ...], output_dir: str | None, as_json: bool) -> None:
    """Execute a notebook with papermill and export it to self-contained HTML.

    \b
    Example:
        smslab report run delivery_funnel -p campaign_id demo-two-way --json
    """
    from smslab.reporting import run_report

    _emit(run_report(name, parameters=dict(parameters), output_dir=output_dir), as_json,
          lambda r: f"report: {r['html']}")


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
