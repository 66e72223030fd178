"""`smslab demo`, `numbers`, `rules`, `segments`, `cost`: the whole flow simulated, and planning.

Example:
    >>> from smslab.cli import cli
    >>> sorted(c for c in ("demo", "numbers", "rules", "segments", "cost") if c in cli.commands)
    ['cost', 'demo', 'numbers', 'rules', 'segments']
"""

from __future__ import annotations

import sys

import click

from smslab.cli.common import Number, _emit, cli, db_option, json_option, user_errors


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
    _emit(
        result,
        as_json,
        lambda r: "\n".join(
            [f"demo database: {r['db']}", f"messages: {r['messages']}"] + [f"report: {p}" for p in r["reports"]]
        ),
    )


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
@click.option(
    "--audit",
    "do_audit",
    is_flag=True,
    help="Per fact: its sources (kind, age), single-source, stale and unknown facts.",
)
@click.option("--at", "at", default=None, help="The rules in force on this day (YYYY-MM-DD; default today).")
@click.option(
    "--check",
    "check",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Validate schema-2 files and list every problem (repeatable); exit 1 if any.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Read the country files from this folder instead of data/rules.",
)
@json_option
@user_errors
def rules(
    country: str | None, do_audit: bool, at: str | None, check: tuple[str, ...], directory: str | None, as_json: bool
) -> None:
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
        _emit(
            found,
            as_json,
            lambda r: "\n".join(line for lines in r.values() for line in lines) or f"{len(r)} file(s): no problems",
        )
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
    _emit(
        result,
        as_json,
        lambda r: "\n".join(
            f"{c['country']}  {c['name']:<22} senders: "
            + ", ".join(t for t, v in c["senders"].items() if v["available"])
            + f"; checked {c['checked']}; {len(c['sources'])} source(s)"
            + (f"; overridden: {', '.join(c['overridden'])}" if c.get("overridden") else "")
            for c in r
        ),
    )


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
        result["gsm_safe"] = {
            "text": safe.text,
            "encoding": safe.after.encoding,
            "segments": safe.after.segments,
            "saved": safe.saved,
            "replaced": safe.replaced,
        }
    _emit(
        result,
        as_json,
        lambda r: (
            f"{r['encoding']}, {r['segments']} segment(s), {r['units']} units"
            + (f"; forcing UCS-2: {' '.join(repr(c) for c in r['non_gsm'])}" if r["non_gsm"] else "")
            + (
                f"\ngsm_safe: {r['gsm_safe']['segments']} segment(s), saves {r['gsm_safe']['saved']}: "
                f"{r['gsm_safe']['text']}"
                if "gsm_safe" in r
                else ""
            )
        ),
    )


@cli.command()
@click.option("--country", required=True, help="Two-letter destination country, e.g. FR.")
@click.option("--monthly-volume", type=click.IntRange(0), required=True, help="Messages per month.")
@click.option("--months", type=Number(0, min_open=True), required=True, help="Campaign length in months.")
@click.option("--two-way", is_flag=True, help="Replies expected (keywords, opt-outs).")
@click.option("--purpose", type=click.Choice(["marketing", "transactional"]), default="marketing")
@click.option("--segments", "segments_", type=click.IntRange(1), default=1, help="Parts per message.")
@click.option(
    "--reply-rate", type=Number(0, 10), default=None, help="Replies per message sent, to cost inbound traffic."
)
@click.option("--launch-in-weeks", type=Number(), default=None, help="Flag options whose lead time is longer.")
@click.option("--currency", default=None, help="Convert totals to this currency (rate table needed).")
@click.option(
    "--prices", type=click.Path(dir_okay=False), default=None, help="Your price sheet (CSV) over the built-in one."
)
@click.option("--rates", type=click.Path(dir_okay=False), default=None, help="Your currency rate table (CSV).")
@json_option
@user_errors
def cost(
    country: str,
    monthly_volume: int,
    months: float,
    two_way: bool,
    purpose: str,
    segments_: int,
    reply_rate: float | None,
    launch_in_weeks: float | None,
    currency: str | None,
    prices: str | None,
    rates: str | None,
    as_json: bool,
) -> None:
    """Compare sender types (short code, VLN, toll-free, alphanumeric) for a country.

    \b
    Example:
        smslab cost --country FR --monthly-volume 50000 --months 3 --two-way --json
    """
    from smslab.pricing import describe, plan, plan_json

    result = plan(
        country,
        monthly_volume=monthly_volume,
        months=months,
        two_way=two_way,
        purpose=purpose,
        segments=segments_,
        reply_rate=reply_rate,
        launch_in_weeks=launch_in_weeks,
        currency=currency,
        prices=prices,
        rates=rates,
        require_rates=currency is not None,
    )
    if as_json:
        _emit(plan_json(result), True)
    else:
        click.echo(describe(result))
