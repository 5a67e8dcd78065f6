"""The ``osmo`` command line: parse, call a use case, render. Exit codes (one place, ``main``):
0 success, 1 ``check`` when the award is not held, 2 bad input or usage, 3 the database is unreachable,
locked or failed, 4 an unexpected error (a bug: the traceback is printed with ``--debug``)."""

from __future__ import annotations

import os
import stat
import sys
import traceback
from typing import Any, NoReturn

import click
import orjson

from osmo.application import catalogs as catalogs_uc
from osmo.application import players as players_uc
from osmo.application import queries
from osmo.application.play import play_games
from osmo.application.recording import BatchRejected, RecordResult, record_games
from osmo.bootstrap import DEFAULT_DB, App, bootstrap
from osmo.domain.errors import InvalidInput, OsmoError
from osmo.domain.events import AwardRevoked, AwardUnlocked
from osmo.entrypoints import render, wire
from osmo.entrypoints.errors import BAD_INPUT, BUG, outcome
from osmo.entrypoints.services import SERVICES

EXIT_NOT_HELD = 1
EXIT_BAD_INPUT = BAD_INPUT.exit_code
EXIT_BUG = BUG.exit_code
SHOWN_REJECTIONS = 20


def _app(ctx: click.Context) -> App:
    app: App = ctx.obj
    return app


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="OSMO_DB", default=DEFAULT_DB, show_default=True,
              help="SQLite file path, or a postgresql:// URL (env OSMO_DB).")
@click.option("--catalog", "catalog_file", envvar="OSMO_CATALOG", type=click.Path(dir_okay=False),
              help="A TOML catalog overriding the built-in stats and awards key by key (env OSMO_CATALOG): "
                   "write commands store it as a new catalog version, read commands preview it.")
@click.option("--debug", is_flag=True, help="Print the traceback of an unexpected error.")
@click.option("--log-format", type=click.Choice(["text", "json"]), envvar="OSMO_LOG_FORMAT", default="text",
              show_default=True, help="Log lines on stderr as text or as JSON objects (env OSMO_LOG_FORMAT).")
@click.version_option(package_name="osmo")
@click.pass_context
def cli(ctx: click.Context, db: str, catalog_file: str | None, debug: bool, log_format: str) -> None:
    """osmo: record finished games and award achievements."""
    from osmo.entrypoints.logs import configure_logging

    configure_logging(log_format, debug=debug)
    ctx.obj = bootstrap(db, catalog_file)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.option("--players", "count", type=click.IntRange(10, 100_000), default=10, show_default=True,
              help="Register this many sample players: the ten seed players, then generated ones.")
@click.pass_context
def init(ctx: click.Context, count: int) -> None:
    """Create the store and register the seed players (running it again changes nothing)."""
    app = _app(ctx)
    added = players_uc.register_players(app.uow, app.sample_players(count))
    catalog, _ = catalogs_uc.in_effect(app.uow)
    click.echo(f"store ready (catalog v{catalog.version}); registered {len(added)} new player(s)")


# -- players ---------------------------------------------------------------------------------------

@cli.group()
def players() -> None:
    """Register and list players."""


@players.command("add")
@click.argument("player_id")
@click.argument("name")
@click.pass_context
def players_add(ctx: click.Context, player_id: str, name: str) -> None:
    """Register PLAYER_ID with a unique NAME."""
    player = players_uc.register_player(_app(ctx).uow, player_id, name)
    click.echo(f"registered {render.shown(player.player_id)} ({render.shown(player.name)})")


@players.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def players_list(ctx: click.Context, as_json: bool) -> None:
    """List registered players."""
    rows = players_uc.list_players(_app(ctx).uow)
    if as_json:
        _print_json(wire.players(rows))
    else:
        render.players(rows)


# -- the catalog -----------------------------------------------------------------------------------

@cli.group()
def catalog() -> None:
    """Show, compare and apply catalogs (stats and awards).

    The catalog in effect is stored in the database as versioned events. 'osmo catalog diff FILE' shows
    what FILE would change, 'osmo catalog apply FILE' stores it: new games are evaluated with it, and
    'osmo backfill' grants its new awards for past games."""


@catalog.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def catalog_show(ctx: click.Context, as_json: bool) -> None:
    """The catalog in effect (or the --catalog file previewed)."""
    current, stored = catalogs_uc.in_effect(_app(ctx).uow)
    if as_json:
        _print_json(wire.catalog(current, stored))
    else:
        render.catalog(current, stored)


@catalog.command("diff")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def catalog_diff(ctx: click.Context, file: str, as_json: bool) -> None:
    """What applying the catalog FILE would change (nothing is stored)."""
    app = _app(ctx)
    result = catalogs_uc.diff(app.uow, app.load_catalog_file(file))
    if as_json:
        _print_json(wire.catalog_diff(result))
    else:
        render.catalog_diff(result)


@catalog.command("apply")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def catalog_apply(ctx: click.Context, file: str) -> None:
    """Store the catalog FILE as the catalog in effect (a new version when it changes anything)."""
    app = _app(ctx)
    uow, proposed = app.uow, app.load_catalog_file(file)
    changes = catalogs_uc.diff(uow, proposed)
    stored, added = catalogs_uc.apply(uow, proposed)
    if added:
        render.catalog_diff(changes)
        click.echo(f"catalog v{stored.version} is in effect; run 'osmo backfill' to grant new or changed awards "
                   "for past games")
    else:
        click.echo(f"catalog v{stored.version} is already in effect: nothing changed")


# -- recording -------------------------------------------------------------------------------------

def _echo_rejections(rejected: list[Any]) -> None:
    for rejection in rejected[:SHOWN_REJECTIONS]:
        click.echo(f"line {rejection.line}: {render.shown(rejection.error)}", err=True)
    if len(rejected) > SHOWN_REJECTIONS:
        click.echo(f"... and {len(rejected) - SHOWN_REJECTIONS} more invalid report(s) (--json lists them all)",
                   err=True)


PROGRESS_BYTES = 10 * 2**20
"""Inputs smaller than this (about 10,000 reports) are recorded without a progress bar."""


def _input_size(file: Any) -> int | None:
    """The size in bytes of a regular file, else None (a pipe)."""
    try:
        info = os.fstat(file.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option("--skip-invalid", is_flag=True, help="Record the valid reports, list the invalid ones, exit 0.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def record(ctx: click.Context, file: Any, skip_invalid: bool, as_json: bool) -> None:
    """Record the game reports in FILE ('-' for stdin): one JSON value or JSON Lines."""
    app = _app(ctx)
    size = _input_size(file)
    try:
        with render.record_progress(size, quiet=as_json or (size is not None and size < PROGRESS_BYTES)) as bars:
            read, to_write, written = bars
            result = record_games(app.uow, app.stream_reports(file, progress=read), skip_invalid=skip_invalid,
                                  progress=written, checked=to_write, spool=app.spool())
    except BatchRejected as error:
        if as_json:
            _print_json(wire.record_result(RecordResult(rejected=error.rejected)))
        _echo_rejections(error.rejected)
        click.echo(f"{len(error.rejected)} invalid report(s); nothing was recorded", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if as_json:
        _print_json(wire.record_result(result))
    else:
        render.record_summary(result, SHOWN_REJECTIONS)


@cli.command()
@click.option("-n", "games", default=100, show_default=True, type=click.IntRange(min=1), help="Games to play.")
@click.option("--seed", type=int, default=None, help="Fix teams and stats (game ids stay fresh).")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def play(ctx: click.Context, games: int, seed: int | None, as_json: bool) -> None:
    """Simulate N games between registered players and record them; the last one ends now."""
    app = _app(ctx)
    with render.progress_bar(games, "playing", quiet=as_json) as advance:
        result = play_games(app.uow, app.simulate, games, seed, progress=advance)
    if as_json:
        _print_json(wire.record_result(result))
    else:
        render.record_summary(result, SHOWN_REJECTIONS)


# -- reading ---------------------------------------------------------------------------------------

@cli.command()
@click.argument("player")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def profile(ctx: click.Context, player: str, as_json: bool) -> None:
    """Career stats and awards of PLAYER (an id, or a name)."""
    result = queries.profile(_app(ctx).uow, player)
    if as_json:
        _print_json(wire.profile(result))
    else:
        render.profile(result)


@cli.command()
@click.argument("award")
@click.argument("player")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def check(ctx: click.Context, award: str, player: str, as_json: bool) -> None:
    """Exit 0 if PLAYER holds AWARD, 1 if not (with progress)."""
    status = queries.check_award(_app(ctx).uow, award, player)
    if as_json:
        _print_json(wire.award_status(status))
    else:
        render.check(status, player)
    if not status.unlocked:
        sys.exit(EXIT_NOT_HELD)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def awards(ctx: click.Context, as_json: bool) -> None:
    """The award catalog with holders and rarity."""
    listing = queries.award_catalog(_app(ctx).uow)
    if as_json:
        _print_json(wire.award_listing(listing))
    else:
        render.awards(listing)


@cli.command()
@click.argument("award")
@click.argument("player")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def explain(ctx: click.Context, award: str, player: str, as_json: bool) -> None:
    """Why PLAYER holds AWARD (the game, the rule, the values), or how close they came.

    An operator's tool: it names hidden awards and shows their rules."""
    from osmo.application.explain import explain as explain_uc

    result = explain_uc(_app(ctx).uow, award, player)
    if as_json:
        _print_json(wire.explanation(result))
    else:
        render.explanation(result)


# -- history ---------------------------------------------------------------------------------------

@cli.command()
@click.argument("award_ids", nargs=-1, metavar="[AWARD]...")
@click.option("--dry-run", is_flag=True, help="List what would be granted without writing (a --catalog file is "
                                              "previewed, not stored).")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def backfill(ctx: click.Context, award_ids: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Grant AWARD (all awards when none named) to every player who earned it in recorded history,
    at the game where they first qualified."""
    from osmo.application.backfill import backfill as backfill_uc
    from osmo.application.backfill import total_games

    app = _app(ctx)
    games = total_games(app.uow)
    with render.progress_bar(games, "scanning", quiet=as_json or games < 50_000) as advance:
        result = backfill_uc(app.uow, award_ids, dry_run=dry_run, progress=advance)
    if as_json:
        _print_json(wire.backfill_result(result, dry_run))
    else:
        render.backfill_summary(result, dry_run)


@cli.command()
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Drop every projection and replay the event log from position 0."""
    from osmo.application.backfill import rebuild as rebuild_uc
    from osmo.application.backfill import total_games

    app = _app(ctx)
    games = total_games(app.uow)
    with render.progress_bar(games, "replaying", quiet=games < 50_000) as advance:
        replayed = rebuild_uc(app.uow, progress=advance)
    click.echo(f"rebuilt the projections from {replayed} event(s)")


@cli.command()
@click.argument("game_id")
@click.option("--reason", required=True, help="Why the game is voided (kept in history).")
@click.pass_context
def void(ctx: click.Context, game_id: str, reason: str) -> None:
    """Remove GAME_ID from every career it touched; awards that no longer hold move later or are revoked."""
    from osmo.application.corrections import later_games, void_game

    app = _app(ctx)
    games = later_games(app.uow, game_id)
    with render.progress_bar(games, "rewriting later games", quiet=games < 20_000) as advance:
        decided = void_game(app.uow, game_id, reason, progress=advance)
    click.echo(f"voided {render.shown(game_id)}")
    for event in decided:
        match event.payload:
            case AwardRevoked(player_id, award_id):
                click.echo(f"  {award_id} of {render.shown(player_id)}: revoked")
            case AwardUnlocked(player_id, award_id, game_id):
                click.echo(f"  {award_id} of {render.shown(player_id)}: moved to game {render.shown(game_id)}")


@cli.command()
@click.argument("award")
@click.argument("player")
@click.option("--reason", required=True, help="Why (kept in history).")
@click.option("--force", is_flag=True, help="Grant even a retired award.")
@click.pass_context
def grant(ctx: click.Context, award: str, player: str, reason: str, force: bool) -> None:
    """Grant AWARD to PLAYER by hand."""
    from osmo.application.corrections import grant as grant_uc

    grant_uc(_app(ctx).uow, award, player, reason, force=force)
    click.echo(f"granted {render.shown(award)} to {render.shown(player)}")


@cli.command()
@click.argument("award")
@click.argument("player")
@click.option("--reason", required=True, help="Why (kept in history).")
@click.pass_context
def revoke(ctx: click.Context, award: str, player: str, reason: str) -> None:
    """Revoke AWARD from PLAYER."""
    from osmo.application.corrections import revoke as revoke_uc

    revoke_uc(_app(ctx).uow, award, player, reason)
    click.echo(f"revoked {render.shown(award)} from {render.shown(player)}")


# -- services --------------------------------------------------------------------------------------

def _address(text: str, option: str = "--http") -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"{option} must read HOST:PORT (e.g. 127.0.0.1:8000), not {text!r}")
    return host.strip("[]"), int(port)


@cli.command()
@click.option("--nats", "nats_url", envvar="OSMO_NATS_URL", help="Run the NATS services on this server "
              "(e.g. nats://127.0.0.1:4222; env OSMO_NATS_URL).")
@click.option("--only", default=",".join(SERVICES), show_default=True,
              help="The NATS services to run, comma-separated: " + ", ".join(SERVICES) + ".")
@click.option("--http", "http_address", envvar="OSMO_HTTP", default="127.0.0.1:8000", show_default=True,
              help="Where the HTTP API listens, HOST:PORT (env OSMO_HTTP).")
@click.option("--no-http", is_flag=True, help="Do not start the HTTP server.")
@click.option("--body-limit", type=click.IntRange(1_000, 100_000_000), default=1_000_000, show_default=True,
              help="Largest HTTP request body accepted, in bytes.")
@click.option("--metrics", "metrics_address", envvar="OSMO_METRICS", default=None,
              help="Also export Prometheus metrics on HOST:PORT (for --no-http; env OSMO_METRICS).")
@click.pass_context
def serve(ctx: click.Context, nats_url: str | None, only: str, http_address: str, no_http: bool,
          body_limit: int, metrics_address: str | None) -> None:
    """Run osmo as network services: the NATS services and the HTTP API, against --db.

    Several 'osmo serve' processes may run at once against the same store and NATS. Ctrl-C or SIGTERM
    finishes the work in flight and exits 0."""
    import asyncio

    from osmo.entrypoints.serve import ServeOptions
    from osmo.entrypoints.serve import serve as serve_forever

    chosen = frozenset(s.strip() for s in only.split(",") if s.strip())
    unknown = chosen - set(SERVICES)
    if unknown:
        raise InvalidInput(f"--only: unknown service(s) {', '.join(sorted(unknown))} (known: {', '.join(SERVICES)})")
    if no_http and not nats_url:
        raise InvalidInput("nothing to serve: give --nats URL, or drop --no-http")
    options = ServeOptions(nats_url or None, chosen, None if no_http else _address(http_address), body_limit,
                           _address(metrics_address, "--metrics") if metrics_address else None)
    settings = _app(ctx).settings

    def announce() -> None:
        from osmo.entrypoints.logs import announce as log_line
        from osmo.entrypoints.logs import redact_url

        parts = ([f"NATS services ({', '.join(sorted(chosen))}) on {redact_url(nats_url)}"] if nats_url else []) + (
            [f"HTTP on http://{options.http[0]}:{options.http[1]}"] if options.http else [])
        log_line("osmo serving " + " and ".join(parts))

    asyncio.run(serve_forever(lambda: bootstrap(settings.db, settings.catalog_file), options, announce))


def _register_admin_commands() -> None:
    from osmo.entrypoints.cli_admin import keys, webhooks
    from osmo.entrypoints.cli_stress import stress

    cli.add_command(keys)
    cli.add_command(webhooks)
    cli.add_command(stress)


_register_admin_commands()


# -- errors to exit codes --------------------------------------------------------------------------

def _fail(code: int, message: str) -> NoReturn:
    click.echo(f"osmo: error: {render.shown(message)}", err=True)
    sys.exit(code)


def _undecodable(args: list[str]) -> str | None:
    """The first command-line argument that is not valid UTF-8 (Python keeps its bytes as surrogates)."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, mapping osmo's errors to exit codes."""
    args = sys.argv[1:] if argv is None else argv
    bad = _undecodable(args)
    if bad is not None:
        _fail(EXIT_BAD_INPUT, f"argument {bad!r} is not valid UTF-8")
    try:
        cli.main(args=args, prog_name="osmo", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_BAD_INPUT)
    except click.exceptions.Abort:
        _fail(EXIT_BAD_INPUT, "aborted")
    except OsmoError as error:
        _fail(outcome(error).exit_code, str(error))
    except Exception as error:  # a bug: one line, the traceback only when asked
        if "--debug" in args:
            traceback.print_exc()
        _fail(EXIT_BUG, f"unexpected error ({type(error).__name__}: {error}); run again with --debug for the "
                        "traceback, and please report it")
