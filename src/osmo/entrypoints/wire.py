"""The JSON every entrypoint answers with (CLI ``--json``, NATS replies, HTTP bodies): one serialiser, so the
same question gets the same answer whichever way it is asked."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from osmo.application.backfill import BackfillResult
from osmo.application.catalogs import CatalogDiff
from osmo.application.explain import Explanation
from osmo.application.ports import PlayerRow
from osmo.application.queries import AwardListing, AwardStatus, Profile
from osmo.application.recording import RecordResult
from osmo.domain.catalog import Catalog

AWARD_LIST_KEYS = ("id", "name", "description", "tier", "hidden", "retired", "holders", "rarity")


def player(row: PlayerRow) -> dict[str, Any]:
    return {"player_id": row.player_id, "name": row.name}


def players(rows: list[PlayerRow]) -> list[dict[str, Any]]:
    return [player(r) for r in rows]


def record_result(result: RecordResult) -> dict[str, Any]:
    return {
        "recorded": result.recorded,
        "duplicates": result.duplicates,
        "unlocked": [{"player_id": u.player_id, "award": u.award, "game_id": u.game_id} for u in result.unlocked],
        "rejected": [{"line": r.line, "game_id": r.game_id, "error": r.error} for r in result.rejected],
    }


def award_status(status: AwardStatus) -> dict[str, Any]:
    progress = status.progress
    return {
        "id": status.id, "name": status.name, "tier": status.tier, "unlocked": status.unlocked,
        "game_id": status.game_id, "unlocked_at": status.unlocked_at,
        "progress": {"current": progress.current, "target": progress.target, "ratio": progress.ratio}
        if progress else None,
        "hidden": status.hidden, "retired": status.retired, "backfilled": status.backfilled,
        "source": status.source,
    }


def profile(result: Profile) -> dict[str, Any]:
    return {"player_id": result.player_id, "name": result.name, "career": result.career,
            "awards": [award_status(a) for a in result.awards]}


def award_listing(listing: list[AwardListing]) -> list[dict[str, Any]]:
    return [{k: v for k, v in asdict(a).items() if k in AWARD_LIST_KEYS} for a in listing]


def backfill_result(result: BackfillResult, dry_run: bool) -> dict[str, Any]:
    return {"dry_run": dry_run, "granted": result.per_award(), "grants": [asdict(g) for g in result.grants]}


def explanation(result: Explanation) -> dict[str, Any]:
    return result.to_json()


def catalog(current: Catalog, stored: bool) -> dict[str, Any]:
    return {"version": current.version if stored else None, "stored": stored, **current.to_data()}


def catalog_diff(diff: CatalogDiff) -> dict[str, Any]:
    return {**asdict(diff), "empty": diff.empty}
