"""The ``osmo`` command line: parse, call a use case, render. Exit codes (one place, ``main``):
0 success, 1 ``check`` when the award is not held, 2 bad input or usage, 3 infrastructure failure."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, NoReturn

import click
import orjson

from osmo.application import players as players_uc
from osmo.application import queries
from osmo.application.recording import BatchRejected, RecordResult, record_checked, record_games
from osmo.bootstrap import DEFAULT_DB, App, bootstrap
from osmo.domain.errors import InvalidInput, OsmoError, StoreUnavailable
from osmo.entrypoints import render

EXIT_NOT_HELD = 1
EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3


def _app(ctx: click.Context) -> App:
    app: App = ctx.obj
    return app


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="OSMO_DB", default=DEFAULT_DB, show_default=True,
              help="SQLite file path, or a postgresql:// URL (env OSMO_DB).")
@click.option("--catalog", "catalog_file", envvar="OSMO_CATALOG", type=click.Path(dir_okay=False),
              help="A TOML catalog overriding the built-in stats and awards key by key (env OSMO_CATALOG).")
@click.version_option(package_name="osmo")
@click.pass_context
def cli(ctx: click.Context, db: str, catalog_file: str | None) -> None:
    """osmo: record finished games and award achievements."""
    ctx.obj = bootstrap(db, catalog_file)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the store and register the ten seed players (running it again changes nothing)."""
    app = _app(ctx)
    added = players_uc.register_seed_players(app.database, app.catalog)
    click.echo(f"store ready (catalog v{app.catalog.version}); registered {len(added)} new player(s)")


@cli.group()
def players() -> None:
    """Register and list players."""


@players.command("add")
@click.argument("player_id")
@click.argument("name")
@click.pass_context
def players_add(ctx: click.Context, player_id: str, name: str) -> None:
    """Register PLAYER_ID with a unique NAME."""
    app = _app(ctx)
    player = players_uc.register_player(app.database, app.catalog, player_id, name)
    click.echo(f"registered {player.player_id} ({player.name})")


@players.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def players_list(ctx: click.Context, as_json: bool) -> None:
    """List registered players."""
    rows = players_uc.list_players(_app(ctx).database)
    if as_json:
        _print_json([{"player_id": p.player_id, "name": p.name} for p in rows])
    else:
        render.players(rows)


def _result_json(result: RecordResult) -> dict[str, Any]:
    return {
        "recorded": result.recorded,
        "duplicates": result.duplicates,
        "unlocked": [{"player_id": u.player_id, "award": u.award, "game_id": u.game_id} for u in result.unlocked],
        "rejected": [{"line": r.line, "game_id": r.game_id, "error": r.error} for r in result.rejected],
    }


@cli.command()
@click.argument("file", type=click.File("rb"))
@click.option("--skip-invalid", is_flag=True, help="Record the valid reports, list the invalid ones, exit 0.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def record(ctx: click.Context, file: Any, skip_invalid: bool, as_json: bool) -> None:
    """Record the game reports in FILE ('-' for stdin): one JSON value or JSON Lines."""
    from osmo.adapters.report_json import ReportParser

    app = _app(ctx)
    catalog = app.catalog
    submissions = ReportParser(catalog).parse(file.read())
    try:
        result = record_games(app.database, catalog, submissions, skip_invalid=skip_invalid)
    except BatchRejected as error:
        if as_json:
            _print_json(_result_json(RecordResult(rejected=error.rejected)))
        for rejection in error.rejected:
            click.echo(f"line {rejection.line}: {rejection.error}", err=True)
        click.echo(f"{len(error.rejected)} invalid report(s); nothing was recorded", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if as_json:
        _print_json(_result_json(result))
    else:
        render.record_summary(result)


@cli.command()
@click.option("-n", "games", default=100, show_default=True, type=click.IntRange(min=1), help="Games to play.")
@click.option("--seed", type=int, default=None, help="Fix teams and stats (game ids stay fresh).")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def play(ctx: click.Context, games: int, seed: int | None, as_json: bool) -> None:
    """Simulate N games between registered players and record them."""
    from osmo.adapters.play_worker import simulated_batches
    from osmo.simulation.simulator import Simulator

    app = _app(ctx)
    catalog = app.catalog
    player_ids = [p.player_id for p in players_uc.list_players(app.database)]
    try:
        Simulator(seed, player_ids)
    except ValueError as error:
        raise InvalidInput(f"{error} (run 'osmo init' to register the seed players)") from None
    result = RecordResult()
    with render.progress_bar(games, "playing", quiet=as_json) as advance:
        for batch in simulated_batches(catalog, seed, player_ids, games, datetime.now(UTC)):
            part = record_checked(app.database, catalog, batch, progress=advance)
            result.recorded += part.recorded
            result.duplicates += part.duplicates
            result.unlocked.extend(part.unlocked)
    if as_json:
        _print_json(_result_json(result))
    else:
        render.record_summary(result)


@cli.command()
@click.argument("player")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def profile(ctx: click.Context, player: str, as_json: bool) -> None:
    """Career stats and awards of PLAYER (an id, or a name)."""
    app = _app(ctx)
    result = queries.profile(app.database, app.catalog, player)
    if as_json:
        _print_json({
            "player_id": result.player_id, "name": result.name, "career": result.career,
            "awards": [render.award_json(a) for a in result.awards],
        })
    else:
        render.profile(result)


@cli.command()
@click.argument("award")
@click.argument("player")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def check(ctx: click.Context, award: str, player: str, as_json: bool) -> None:
    """Exit 0 if PLAYER holds AWARD, 1 if not (with progress)."""
    app = _app(ctx)
    status = queries.check_award(app.database, app.catalog, award, player)
    if as_json:
        _print_json(render.award_json(status))
    else:
        render.check(status, player)
    if not status.unlocked:
        sys.exit(EXIT_NOT_HELD)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def awards(ctx: click.Context, as_json: bool) -> None:
    """The award catalog with holders and rarity."""
    app = _app(ctx)
    listing = queries.award_catalog(app.database, app.catalog)
    if as_json:
        _print_json([
            {k: v for k, v in asdict(a).items() if k in render.AWARD_LIST_KEYS} for a in listing
        ])
    else:
        render.awards(listing)


@cli.command()
@click.argument("award_ids", nargs=-1, metavar="[AWARD]...")
@click.option("--dry-run", is_flag=True, help="List what would be granted without writing.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def backfill(ctx: click.Context, award_ids: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Grant AWARD (all awards when none named) to every player who earned it in recorded history,
    at the game where they first qualified."""
    from osmo.application.backfill import backfill as backfill_uc
    from osmo.application.backfill import total_games

    app = _app(ctx)
    catalog = app.preview_catalog() if dry_run else app.catalog
    games = total_games(app.database)
    with render.progress_bar(games, "scanning", quiet=as_json or games < 50_000) as advance:
        result = backfill_uc(app.database, catalog, award_ids, dry_run=dry_run, progress=advance)
    if as_json:
        _print_json({"dry_run": dry_run, "granted": result.per_award(),
                     "grants": [asdict(g) for g in result.grants]})
    else:
        render.backfill_summary(result, dry_run)


@cli.command()
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Drop every projection and replay the event log from position 0."""
    from osmo.application.backfill import rebuild as rebuild_uc
    from osmo.application.backfill import total_games

    app = _app(ctx)
    games = total_games(app.database)
    with render.progress_bar(games, "replaying", quiet=games < 50_000) as advance:
        replayed = rebuild_uc(app.database, app.catalog, progress=advance)
    click.echo(f"rebuilt the projections from {replayed} event(s)")


@cli.command()
@click.argument("award")
@click.argument("player")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.pass_context
def explain(ctx: click.Context, award: str, player: str, as_json: bool) -> None:
    """Why PLAYER holds AWARD (the game, the rule, the values), or how close they came."""
    from osmo.application.explain import explain as explain_uc

    app = _app(ctx)
    result = explain_uc(app.database, app.catalog, award, player)
    if as_json:
        _print_json(result.to_json())
    else:
        render.explanation(result)


@cli.command()
@click.argument("game_id")
@click.option("--reason", required=True, help="Why the game is voided (kept in history).")
@click.pass_context
def void(ctx: click.Context, game_id: str, reason: str) -> None:
    """Remove GAME_ID from every career it touched; awards that no longer hold move or are revoked."""
    from osmo.application.corrections import void_game

    app = _app(ctx)
    decided = void_game(app.database, app.catalog, game_id, reason)
    click.echo(f"voided {game_id}")
    for event in decided:
        verb = "revoked" if event.type == "AwardRevoked" else f"moved to game {event.data['game_id']}"
        click.echo(f"  {event.data['award_id']} of {event.data['player_id']}: {verb}")


@cli.command()
@click.argument("award")
@click.argument("player")
@click.option("--reason", required=True, help="Why (kept in history).")
@click.pass_context
def grant(ctx: click.Context, award: str, player: str, reason: str) -> None:
    """Grant AWARD to PLAYER by hand."""
    from osmo.application.corrections import grant as grant_uc

    app = _app(ctx)
    grant_uc(app.database, app.catalog, award, player, reason)
    click.echo(f"granted {award} to {player}")


@cli.command()
@click.argument("award")
@click.argument("player")
@click.option("--reason", required=True, help="Why (kept in history).")
@click.pass_context
def revoke(ctx: click.Context, award: str, player: str, reason: str) -> None:
    """Revoke AWARD from PLAYER."""
    from osmo.application.corrections import revoke as revoke_uc

    app = _app(ctx)
    revoke_uc(app.database, app.catalog, award, player, reason)
    click.echo(f"revoked {award} from {player}")


def _fail(code: int, message: str) -> NoReturn:
    click.echo(f"osmo: error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, mapping osmo's errors to exit codes."""
    try:
        cli.main(args=argv, prog_name="osmo", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_BAD_INPUT)
    except click.exceptions.Abort:
        _fail(EXIT_BAD_INPUT, "aborted")
    except InvalidInput as error:
        _fail(EXIT_BAD_INPUT, str(error))
    except (StoreUnavailable, OsmoError) as error:
        _fail(EXIT_UNAVAILABLE, str(error))
