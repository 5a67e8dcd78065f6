"""Errors the domain and the use cases raise; entrypoints map them to exit codes in one place."""


class OsmoError(Exception):
    """Base of every error osmo raises on purpose."""


class InvalidInput(OsmoError):
    """Bad input from a user: a report, a catalog, a command argument. Nothing was stored."""


class InvalidReport(InvalidInput):
    """A game report breaks a rule of the format or the catalog."""


class InvalidCatalog(InvalidInput):
    """A catalog file or entry is malformed, or a rule does not parse or type-check."""


class DuplicateConflict(InvalidInput):
    """A game id was recorded before with different content."""


class UnknownPlayer(InvalidInput):
    """No player has that id (or name)."""


class UnknownAward(InvalidInput):
    """No award has that id."""


class UnknownGame(InvalidInput):
    """No game has that id."""


class UnknownStat(InvalidInput):
    """No stat (or career stat) has that name."""


class PlayerExists(InvalidInput):
    """A player with that id or that name is already registered."""


class ConcurrencyError(OsmoError):
    """A stream was appended to by someone else since it was read (its expected version is stale)."""


class StoreUnavailable(OsmoError):
    """The database cannot be reached, is locked, or failed mid-operation."""
