"""``osmo stress``: simulated game servers against a running osmo, with a report folder of plots and an
end-of-run consistency check (see ``osmo.stress``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson

from osmo.bootstrap import App
from osmo.domain.errors import InvalidInput


def _app(ctx: click.Context) -> App:
    app: App = ctx.obj
    return app


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


@click.command()
@click.option("--via", type=click.Choice(["http", "nats", "direct"]), default="direct", show_default=True,
              help="http: POST /v1/games and the SSE feed; nats: JetStream ingest and OSMO_EVENTS; direct: the "
                   "record use case in this process, on --db.")
@click.option("--url", "urls", multiple=True, help="Base URL of an osmo serve (--via http; repeat it to spread "
                                                   "the game servers over several processes).")
@click.option("--key", envvar="OSMO_API_KEY", help="A report-scope API key (--via http; env OSMO_API_KEY). "
                                                   "Without it one is created in the store.")
@click.option("--nats", "nats_url", envvar="OSMO_NATS_URL", help="NATS server (--via nats; env OSMO_NATS_URL).")
@click.option("--rate", type=click.FloatRange(0.1, 100_000), default=20.0, show_default=True,
              help="Games per second asked (open loop); with --ramp, the first rate tried.")
@click.option("--duration", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="Seconds of sending (ignored with -n).")
@click.option("-n", "count", type=click.IntRange(1, 1_000_000), help="Send this many games instead.")
@click.option("--servers", type=click.IntRange(1, 256), default=4, show_default=True,
              help="Concurrent simulated game servers (each sends its share of the games one at a time).")
@click.option("--players", type=click.IntRange(6, 100_000), default=100, show_default=True,
              help="Players registered for the run (its own, so that the check compares fresh careers).")
@click.option("--seed", type=int, help="Seed of the simulator (teams and stats).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default="stress-report",
              show_default=True, help="Folder of the report (report.md, report.html and the plots).")
@click.option("--ramp", is_flag=True, help="Raise the rate step by step to find the highest one sustained with "
                                           "p99 under --p99-ms, and plot latency against offered load.")
@click.option("--p99-ms", type=click.FloatRange(0.1, 600_000), default=50.0, show_default=True,
              help="The latency bound of --ramp.")
@click.option("--step-s", type=click.FloatRange(0.5, 600), default=5.0, show_default=True,
              help="Seconds per rate of --ramp.")
@click.option("--max-rate", type=click.FloatRange(0.1, 100_000), default=2000.0, show_default=True,
              help="The highest rate --ramp tries.")
@click.option("--drain", type=click.FloatRange(0, 3600), default=30.0, show_default=True,
              help="Seconds to wait after the last send for reports still pending.")
@click.option("--warmup", type=click.FloatRange(0, 600), default=1.0, show_default=True,
              help="Seconds sent at the first rate before measuring (checked, not in the figures).")
@click.option("--no-check", is_flag=True, help="Skip the end-of-run consistency check (it reads the store of --db).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (no progress bar).")
@click.pass_context
def stress(ctx: click.Context, via: str, urls: tuple[str, ...], key: str | None, nats_url: str | None, rate: float,
           duration: float, count: int | None, servers: int, players: int, seed: int | None, report_dir: str,
           ramp: bool, p99_ms: float, step_s: float, max_rate: float, drain: float, warmup: float, no_check: bool,
           as_json: bool) -> None:
    """Drive simulated game servers against osmo and write a report with plots.

    Reports are sent open loop at --rate games per second by --servers game servers, each finishing the
    moment it is sent; the run measures, for every report, send -> recorded and send -> each award
    unlocked seen live, then checks the store of --db: every game sent recorded exactly once, careers and
    unlocks equal to an offline record of the same reports."""
    from osmo.stress.core import Plan
    from osmo.stress.drivers import DirectDriver, Driver, HttpDriver, NatsDriver
    from osmo.stress.report import write_report

    app = _app(ctx)
    driver: Driver
    if via == "http":
        if not urls:
            raise InvalidInput("--via http needs --url (e.g. http://127.0.0.1:8000)")
        if not key:
            from osmo.application.api_keys import create_key

            _, key = create_key(app.uow, f"stress-{len(urls)}-{id(ctx):x}", "report")
        driver = HttpDriver([u.rstrip("/") for u in urls], key)
    elif via == "nats":
        if not nats_url:
            raise InvalidInput("--via nats needs --nats URL (e.g. nats://127.0.0.1:4222)")
        driver = NatsDriver(nats_url)
    else:
        driver = DirectDriver.on(app.settings.db, app.settings.catalog_file, servers)
    plan = Plan(via=via, rate=rate, servers=servers, n=count, duration=duration, seed=seed, players=players,
                drain=drain, warmup=warmup, ramp=ramp, p99_ms=p99_ms, step_s=step_s, max_rate=max_rate)
    import asyncio

    result = asyncio.run(_run(plan, app, driver, not no_check, quiet=as_json))
    report = write_report(result, Path(report_dir))
    summary = result.summary() | {"report": str(report)}
    if as_json:
        _print_json(summary)
    else:
        lat = summary["latency_ms"]
        click.echo(f"{summary['recorded']}/{summary['sent']} recorded at {summary['achieved_rate']:g} games/s "
                   f"(asked {rate:g}); latency p50 {lat['p50']:g} ms, p99 {lat['p99']:g} ms, max {lat['max']:g} ms; "
                   f"{summary['errors']} error(s); "
                   + ("consistent" if summary["consistent"] else "not checked" if summary["consistent"] is None
                      else "INCONSISTENT (see the report)"))
        if ramp:
            knee = summary["ramp"]["knee_rate"]
            click.echo(f"highest rate with p99 under {p99_ms:g} ms: "
                       + (f"{knee:g} games/s" if knee is not None else "none of the rates tried"))
        click.echo(f"report: {report} (and {report.with_suffix('.html')})")
    if summary["consistent"] is False:
        sys.exit(1)


async def _run(plan: Any, app: App, driver: Any, check: bool, quiet: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from osmo.stress.core import run_stress

    if quiet:
        return await run_stress(plan, app, driver, check=check)
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bars:
        sent = bars.add_task("sent", total=None)
        recorded = bars.add_task("recorded", total=None)

        def progress(planned: int, n_sent: int, n_recorded: int) -> None:
            bars.update(sent, total=planned, completed=n_sent)
            bars.update(recorded, total=planned, completed=n_recorded)

        return await run_stress(plan, app, driver, progress=progress, check=check)
