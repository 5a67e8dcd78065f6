"""The composition root: reads the settings, picks the backend, loads the catalogs and wires the unit of
work with the projectors and the award policy. Nothing else opens a database or chooses an adapter."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, BinaryIO

from osmo.adapters.catalog_files import load_catalog
from osmo.application.award_policy import AwardPolicy
from osmo.application.game_chunk import GameChunk
from osmo.application.play import Simulate
from osmo.application.ports import Database
from osmo.application.projections import CareersProjection, PlayersProjection, UnlocksProjection, projectors
from osmo.application.recording import Spool, Submission
from osmo.application.subscribers import Subscriber
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidInput

if TYPE_CHECKING:
    from osmo.adapters.report_fast import FastReportParser

DEFAULT_DB = "osmo.db"
SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA", "OFF")


def live_subscribers() -> list[Subscriber]:
    """The subscribers run inline on every append, in order: careers before the policy reads them."""
    return [PlayersProjection(), CareersProjection(), AwardPolicy(), UnlocksProjection()]


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86_400:
        raise InvalidInput(f"{name} must be a number of seconds between 0 and 86400, not {text!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """What osmo reads from its options and environment (the README lists every variable)."""

    db: str = DEFAULT_DB
    catalog_file: str | None = None
    sqlite_synchronous: str = "FULL"  # OSMO_SQLITE_SYNCHRONOUS
    lock_timeout_s: float = 30.0  # OSMO_LOCK_TIMEOUT: how long a writer waits for another one
    pg_timeout_s: float = 60.0  # OSMO_PG_TIMEOUT: how long osmo waits for a PostgreSQL answer

    @classmethod
    def load(cls, db: str | None = None, catalog_file: str | None = None,
             environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        synchronous = (env.get("OSMO_SQLITE_SYNCHRONOUS") or "FULL").upper()
        if synchronous not in SYNCHRONOUS_MODES:
            raise InvalidInput(f"OSMO_SQLITE_SYNCHRONOUS must be one of {', '.join(SYNCHRONOUS_MODES)}, "
                               f"not {env.get('OSMO_SQLITE_SYNCHRONOUS')!r}")
        return cls(db or DEFAULT_DB, catalog_file or None, synchronous,
                   _seconds(env, "OSMO_LOCK_TIMEOUT", cls.lock_timeout_s),
                   _seconds(env, "OSMO_PG_TIMEOUT", cls.pg_timeout_s))


def open_database(settings: Settings) -> Database:
    """``postgresql://...`` opens PostgreSQL; a path (or ``sqlite:///path``) a SQLite file; anything
    else with a scheme is refused."""
    url = settings.db
    if url.startswith(("postgresql://", "postgres://")):
        from osmo.adapters.postgres import PostgresDatabase

        return PostgresDatabase(url, lock_timeout_ms=int(settings.lock_timeout_s * 1000),
                                timeout_s=settings.pg_timeout_s)
    if "://" in url and not url.startswith("sqlite:///"):
        scheme = url.split("://", 1)[0]
        raise InvalidInput(f"unsupported database URL scheme {scheme!r}: use a SQLite file path or a "
                           "postgresql:// URL")
    from osmo.adapters.sqlite import SqliteDatabase

    return SqliteDatabase(url.removeprefix("sqlite:///"), settings.sqlite_synchronous,
                          busy_timeout_s=settings.lock_timeout_s)


@dataclass
class App:
    """What the entrypoints work with: the unit of work over the configured database, opened on first use."""

    settings: Settings
    _database: Database | None = field(default=None, init=False)

    @property
    def database(self) -> Database:
        if self._database is None:
            self._database = open_database(self.settings)
        return self._database

    @cached_property
    def uow(self) -> UnitOfWork:
        proposed = load_catalog(self.settings.catalog_file) if self.settings.catalog_file else None
        return UnitOfWork(self.database, builtin=load_catalog, subscribers=live_subscribers,
                          projectors=projectors, proposed=proposed)

    # -- the adapters the entrypoints need, chosen here --------------------------------------------
    def parse_reports(self, content: bytes) -> list[Submission | GameChunk]:
        """Reports in the JSON wire format, parsed for the catalog in effect."""
        return list(self.report_parser(self.uow.catalog()).parse(content))

    @staticmethod
    def report_parser(catalog: Catalog) -> FastReportParser:
        """A reader of the JSON wire format for ``catalog`` (its clock, ``now``, is taken now: set it again
        before each batch when the reader is kept)."""
        from osmo.adapters.report_fast import FastReportParser

        return FastReportParser(catalog, datetime.now(UTC))

    def stream_reports(self, file: BinaryIO, progress: Callable[[int], None] | None = None
                      ) -> Iterator[Submission | GameChunk]:
        """The reports of an input file, read as it goes for JSON Lines (``progress(n)``: bytes read), on the
        fast reader (whose clock is taken now, before the recording's)."""
        from osmo.adapters.report_fast import FastReportParser, stream_submissions

        parser = FastReportParser(self.uow.catalog(), datetime.now(UTC))
        return stream_submissions(file, parser, progress)

    def spool(self) -> Spool:
        """Where recording keeps checked games until they are written: a temporary file."""
        from osmo.adapters.spool import FileSpool

        return FileSpool()

    def load_catalog_file(self, path: str) -> Catalog:
        return load_catalog(path)

    @property
    def simulate(self) -> Simulate:
        """The simulator behind ``play`` (a worker process plays while this one records)."""
        from osmo.adapters.play_worker import simulated_batches

        return simulated_batches

    @staticmethod
    def sample_players(count: int) -> list[tuple[str, str]]:
        from osmo.simulation import sample_players

        return sample_players(count)

    def close(self) -> None:
        if self._database is not None:
            self._database.close()


def bootstrap(db_url: str | None = None, catalog_file: str | None = None,
              environ: Mapping[str, str] | None = None) -> App:
    return App(Settings.load(db_url, catalog_file, environ))
