"""`smslab report list` and `smslab report run`: notebooks executed and exported as HTML.

Example:
    >>> from smslab.cli import cli
    >>> sorted(cli.commands["report"].commands)
    ['list', 'run']
"""

from __future__ import annotations

import click

from smslab.cli.common import _emit, cli, json_option, user_errors, wait_option


@cli.group()
def report() -> None:
    """Run the parameterised notebooks and export HTML.

    \b
    Example:
        smslab report list
        smslab report run delivery_funnel -p campaign_id demo-two-way
    """


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
            lines.append(
                f"  parameters: {', '.join(x['parameters']) or 'none'}; last run: "
                + (f"{last['finished_at']} → {last['html']}" if last else "never")
            )
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

    _emit(
        run_report(name, parameters=dict(parameters), output_dir=output_dir), as_json, lambda r: f"report: {r['html']}"
    )
