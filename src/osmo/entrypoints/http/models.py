"""Request bodies (strict: unknown fields, wrong types and oversized values are 422 naming the field) and
the JSON of what a correction decided."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from osmo.domain.events import AwardRevoked, AwardUnlocked

STRICT = ConfigDict(extra="forbid", strict=True)
Text = Annotated[str, Field(min_length=1, max_length=500)]
Id = Annotated[str, Field(min_length=1, max_length=128)]


class NewPlayer(BaseModel):
    model_config = STRICT
    player_id: Id
    name: Id


class Reason(BaseModel):
    model_config = STRICT
    reason: Text


class Grant(BaseModel):
    model_config = STRICT
    player: Id
    reason: Text
    force: bool = False


class Revocation(BaseModel):
    model_config = STRICT
    player: Id
    reason: Text


class Backfill(BaseModel):
    model_config = STRICT
    awards: Annotated[list[Id], Field(max_length=500)] = []
    dry_run: bool = False


def decisions_json(decided: list[AwardRevoked | AwardUnlocked]) -> dict[str, Any]:
    """What a void decided: awards revoked and awards moved to a later game."""
    return {
        "revoked": [{"player_id": d.player_id, "award": d.award_id} for d in decided if isinstance(d, AwardRevoked)],
        "moved": [{"player_id": d.player_id, "award": d.award_id, "game_id": d.game_id}
                  for d in decided if isinstance(d, AwardUnlocked)],
    }
