"""One table from osmo's errors to what each entrypoint answers: CLI exit codes, HTTP statuses and NATS
service error codes. Entrypoints never decide this themselves."""

from __future__ import annotations

from dataclasses import dataclass

from osmo.application.recording import BatchRejected
from osmo.domain.errors import (
    DuplicateConflict,
    InvalidInput,
    OsmoError,
    PlayerExists,
    StoreUnavailable,
    UnknownAward,
    UnknownGame,
    UnknownPlayer,
    UnknownStat,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    exit_code: int  # the CLI's
    http_status: int
    nats_code: int  # Nats-Service-Error-Code


BAD_INPUT = Outcome(2, 400, 400)
UNAVAILABLE = Outcome(3, 503, 503)
BUG = Outcome(4, 500, 500)
CONFLICT = Outcome(2, 409, 409)

# Most specific first: the first class the error is an instance of decides.
TABLE: tuple[tuple[type[BaseException], Outcome], ...] = (
    (UnknownPlayer, Outcome(2, 404, 404)),
    (UnknownAward, Outcome(2, 404, 404)),
    (UnknownGame, Outcome(2, 404, 404)),
    (UnknownStat, Outcome(2, 404, 404)),
    (PlayerExists, CONFLICT),
    (DuplicateConflict, CONFLICT),
    (BatchRejected, Outcome(2, 422, 400)),
    (InvalidInput, BAD_INPUT),
    (StoreUnavailable, UNAVAILABLE),
    (OsmoError, UNAVAILABLE),
)


def outcome(error: BaseException) -> Outcome:
    """What ``error`` means to a caller; anything osmo did not raise on purpose is a bug. A batch rejected
    only because its game ids were recorded before with other content is a conflict."""
    if isinstance(error, BatchRejected) and all(r.kind == "conflict" for r in error.rejected):
        return CONFLICT
    for kind, result in TABLE:
        if isinstance(error, kind):
            return result
    return BUG
