"""The composition root: picks the backend from configuration and resolves the catalog in effect."""

from __future__ import annotations

from dataclasses import dataclass, field

from osmo.adapters.catalog_files import load_catalog
from osmo.application.catalogs import resolve_catalog
from osmo.application.ports import Database
from osmo.domain.catalog import Catalog

DEFAULT_DB = "osmo.db"


def open_database(url: str) -> Database:
    """``postgresql://...`` opens PostgreSQL; anything else is a SQLite file path."""
    if url.startswith(("postgresql://", "postgres://")):
        from osmo.adapters.postgres import PostgresDatabase

        return PostgresDatabase(url)
    from osmo.adapters.sqlite import SqliteDatabase

    return SqliteDatabase(url.removeprefix("sqlite:///"))


@dataclass
class App:
    """What the entrypoints work with: the database and, on first use, the catalog in effect."""

    database: Database
    catalog_file: str | None = None
    _catalog: Catalog | None = field(default=None, init=False)

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            proposed = load_catalog(self.catalog_file) if self.catalog_file else None
            self._catalog = resolve_catalog(self.database, proposed, load_catalog())
        return self._catalog

    def preview_catalog(self) -> Catalog:
        """The catalog a command would run with, without storing it (for dry runs)."""
        if self._catalog is not None or not self.catalog_file:
            return self.catalog
        return load_catalog(self.catalog_file)

    def close(self) -> None:
        self.database.close()


def bootstrap(db_url: str | None = None, catalog_file: str | None = None) -> App:
    return App(open_database(db_url or DEFAULT_DB), catalog_file)
