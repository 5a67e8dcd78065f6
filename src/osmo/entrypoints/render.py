"""Human output: tables and progress bars (rich). JSON shapes shared with the CLI live here too."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from osmo.application.backfill import BackfillResult
from osmo.application.catalogs import CatalogDiff
from osmo.application.explain import Explanation
from osmo.application.ports import PlayerRow
from osmo.application.queries import AwardListing, AwardStatus, Profile
from osmo.application.recording import RecordResult
from osmo.domain.catalog import Catalog

TIER_STYLE = {"gold": "yellow", "silver": "white", "bronze": "dark_orange3", None: "dim"}


PIPED_WIDTH = 160  # columns when stdout is not a terminal (rich would use 80 and cut ids)


def _console() -> Console:
    """Plain text: user data (names, ids, reasons) is never read as markup."""
    console = Console(highlight=False, markup=False, emoji=False)
    if not console.is_terminal:
        console = Console(highlight=False, markup=False, emoji=False, width=max(console.width, PIPED_WIDTH))
    return console


def shown(text: str) -> str:
    """User text safe to print: control characters (escape sequences...) are shown escaped."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def players(rows: Sequence[PlayerRow]) -> None:
    table = Table("id", "name", "registered")
    for row in rows:
        table.add_row(shown(row.player_id), shown(row.name), row.registered_at)
    _console().print(table)


def record_summary(result: RecordResult, shown_rejections: int) -> None:
    console = _console()
    console.print(f"recorded {result.recorded} game(s), {result.duplicates} duplicate(s), "
                  f"{len(result.rejected)} rejected, {len(result.unlocked)} award(s) unlocked")
    for rejection in result.rejected[:shown_rejections]:
        console.print(f"  rejected line {rejection.line}: {shown(rejection.error)}", style="red")
    if len(result.rejected) > shown_rejections:
        console.print(f"  ... and {len(result.rejected) - shown_rejections} more (--json lists them all)", style="red")
    by_award = Counter(u.award for u in result.unlocked)
    if by_award:
        table = Table("award", "unlocked", "players", title="Unlocked")
        for award, count in sorted(by_award.items(), key=lambda kv: (-kv[1], kv[0])):
            who = sorted({u.player_id for u in result.unlocked if u.award == award})
            table.add_row(award, str(count), ", ".join(who))
        console.print(table)


def _progress_text(status: AwardStatus) -> str:
    if status.progress is None:
        return ""
    p = status.progress
    return f"{p.current}/{p.target} ({p.ratio:.0%})"


def profile(result: Profile) -> None:
    console = _console()
    console.print(f"{shown(result.name)} ({shown(result.player_id)})", style="bold")
    career = Table("career stat", "value", title="Career")
    for name, value in result.career.items():
        career.add_row(name, str(value))
    console.print(career)
    table = Table("award", "name", "tier", "status", "game", "progress", title="Awards")
    table.columns[4].overflow = "fold"
    for status in result.awards:
        state = f"unlocked {status.unlocked_at}" if status.unlocked else "locked"
        if status.backfilled:
            state += " (backfilled)"
        if status.retired:
            state += " (retired)"
        table.add_row(status.id, status.name, status.tier or "", state, shown(status.game_id or ""),
                      _progress_text(status),
                      style=TIER_STYLE.get(status.tier, "") if status.unlocked else "dim")
    console.print(table)


def check(status: AwardStatus, player: str) -> None:
    if status.unlocked:
        how = f"game {status.game_id}" if status.game_id else status.source
        click_line = f"{shown(player)} holds {status.id} since {status.unlocked_at} ({how})"
    else:
        click_line = f"{shown(player)} does not hold {status.id}"
        if status.progress:
            click_line += f"; progress {_progress_text(status)}"
    _console().print(click_line)


def awards(listing: Sequence[AwardListing]) -> None:
    table = Table("id", "name", "tier", "description", "holders", "rarity")
    for award in listing:
        name = award.name + (" (retired)" if award.retired else "") + (" (hidden)" if award.hidden else "")
        table.add_row(award.id, name, award.tier or "", award.description, str(award.holders), f"{award.rarity:.1f}%")
    _console().print(table)


def backfill_summary(result: BackfillResult, dry_run: bool) -> None:
    console = _console()
    verb = "would grant" if dry_run else "granted"
    per_award = result.per_award()
    scanned = ", ".join(result.awards) or "none (no active award)"
    console.print(f"{verb} {len(result.grants)} award(s); scanned {scanned}")
    if not result.grants:
        console.print("nobody earned them in recorded history without holding them already")
    if per_award:
        table = Table("award", verb)
        for award, count in sorted(per_award.items()):
            table.add_row(award, str(count))
        console.print(table)
    if dry_run and result.grants:
        table = Table("player", "award", "game", "unlocked at", title="Would grant")
        for g in result.grants:
            table.add_row(shown(g.player_id), g.award, shown(g.game_id), g.unlocked_at)
        console.print(table)


def explanation(result: Explanation) -> None:
    console = _console()
    if result.held:
        console.print(f"{shown(result.player_id)} holds {result.award_id} since {result.unlocked_at}"
                      + (f" (game {result.game_id}, {result.source})" if result.game_id else f" ({result.source})"))
        version = f"catalog v{result.catalog_version}" if result.catalog_version is not None else "current catalog"
        console.print(f"rule ({version}): {result.rule}")
        if result.values:
            console.print("values: " + ", ".join(f"{k} = {v}" for k, v in result.values.items()))
    else:
        console.print(f"{shown(result.player_id)} does not hold {result.award_id}; rule: {result.rule}")
        if result.closest_game_id:
            console.print(f"closest: game {result.closest_game_id} met {result.closest_met} condition(s): "
                          + ", ".join(f"{k} = {v}" for k, v in result.values.items()))
        if result.progress:
            p = result.progress
            console.print(f"progress: {p.current}/{p.target} ({p.ratio:.0%})")
    for entry in result.history:
        what = entry.type + (f" at game {entry.game_id}" if entry.game_id else "")
        console.print(f"  {entry.at}  {what}" + (f" ({entry.source})" if entry.source else "")
                      + (f": {shown(entry.reason)}" if entry.reason else ""))


def catalog(current: Catalog, stored: bool) -> None:
    console = _console()
    console.print(f"catalog v{current.version}" if stored else "catalog preview (not stored)")
    stats = Table("stat", "description", "at most", title="Stats")
    for stat in current.stats:
        stats.add_row(stat.id, stat.description, stat.at_most or "")
    console.print(stats)
    table = Table("award", "name", "tier", "rule", title="Awards")
    for award in current.awards:
        flags = (" (retired)" if award.retired else "") + (" (hidden)" if award.hidden else "")
        table.add_row(award.id, award.name + flags, award.tier or "", award.rule)
    console.print(table)


def catalog_diff(diff: CatalogDiff) -> None:
    console = _console()
    against = f"catalog v{diff.version}" if diff.version else "an empty store"
    if diff.empty:
        console.print(f"no change against {against}")
        return
    console.print(f"changes against {against}:")
    for label, ids in (("stats added", diff.added_stats), ("stats removed", diff.removed_stats),
                       ("stats changed", diff.changed_stats), ("awards added", diff.added_awards),
                       ("awards removed", diff.removed_awards), ("awards changed", diff.changed_awards)):
        if ids:
            console.print(f"  {label}: {', '.join(ids)}")


RecordProgress = tuple[Callable[[int], None], Callable[[int], None], Callable[[int], None]]


@contextmanager
def record_progress(size: int | None, *, quiet: bool = False) -> Iterator[RecordProgress]:
    """Two bars on stderr for a recording: the input checked (``read(bytes)``, out of ``size`` when known),
    then the games written (``written(n)``, out of the total ``to_write(total)`` gives once checked)."""
    if quiet:
        yield (lambda n: None), (lambda n: None), (lambda n: None)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        reading = bar.add_task("checking (bytes)", total=size)
        writing = bar.add_task("recording", total=None, visible=False)
        yield ((lambda n: bar.advance(reading, n)),
               (lambda total: bar.update(writing, total=total, visible=True)),
               (lambda n: bar.advance(writing, n)))


@contextmanager
def progress_bar(total: int, label: str, *, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields ``advance(n)``."""
    if quiet:
        yield lambda n: None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
