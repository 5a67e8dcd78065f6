"""Void benchmark: what voiding a game costs, and what voids cost a later rebuild.

Records N simulated games between the ten seed players through osmo (the worst case for a void: every
player plays about every other game, so the voided game's players' later games are most of history),
then measures, in the same run:

- rebuild of the whole log (before any void);
- void of an early game (its players' later games are folded again) and of a late game;
- rebuild after the voids (voided games are skipped: it should cost what the first rebuild cost).

    python benchmarks/void.py --games 20000
    python benchmarks/void.py --games 2000 --db postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from osmo.adapters.play_worker import simulated_batches
from osmo.application.backfill import rebuild
from osmo.application.corrections import later_games, void_game
from osmo.application.players import list_players, register_seed_players
from osmo.application.recording import Checked, record_checked
from osmo.bootstrap import App, bootstrap


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(label: str, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    say(f"  {label}: {elapsed:.2f} s")
    return elapsed


def build(app: App, games: int, seed: int) -> list[str]:
    register_seed_players(app.uow)
    players = [p.player_id for p in list_players(app.uow)]
    catalog = app.uow.catalog()
    ids: list[str] = []
    for batch in simulated_batches(catalog, seed, players, games, datetime.now(UTC), batch=20_000):
        record_checked(app.uow, catalog, batch)
        ids += [outcome.game_id for outcome in batch if isinstance(outcome, Checked)]
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", help="a postgresql:// URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = bootstrap(args.db or str(Path(folder) / "void.db"))
        try:
            say(f"recording {args.games:,} games between 10 players")
            ids = build(app, args.games, args.seed)
            early, late = ids[len(ids) // 100], ids[-len(ids) // 100]
            rewritten = later_games(app.uow, early)
            before = timed("rebuild, no void", lambda: rebuild(app.uow))
            void_early = timed(f"void of an early game ({rewritten:,} later games rewritten)",
                               lambda: void_game(app.uow, early, "benchmark"))
            void_late = timed("void of a late game", lambda: void_game(app.uow, late, "benchmark"))
            after = timed("rebuild after two voids", lambda: rebuild(app.uow))
        finally:
            app.close()
    print(f"games                         {args.games:>10,}")
    print(f"rebuild before voids (s)      {before:>10.2f}")
    print(f"void, early game (s)          {void_early:>10.2f}   ({rewritten:,} later games, "
          f"{rewritten / void_early:,.0f} games/s)")
    print(f"void, late game (s)           {void_late:>10.2f}")
    print(f"rebuild after voids (s)       {after:>10.2f}   (ratio to before: {after / before:.2f})")


if __name__ == "__main__":
    main()
