"""PostgreSQL specifics beyond the shared contract: migrations under concurrent openers, snapshots,
catalog columns, the schema keyword."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest

from osmo.adapters.catalog_files import load_catalog
from osmo.adapters.postgres import MIGRATIONS, PostgresDatabase
from osmo.domain.catalog import Catalog, StatDef
from osmo.domain.errors import ConcurrencyError
from osmo.domain.events import NO_STREAM, NewEvent, derived_id_bytes, game_stream
from tests.conftest import PgSchema

pytestmark = pytest.mark.postgres


def event(stream: str) -> NewEvent:
    return NewEvent(stream, "Something", {"n": 1}, uuid.uuid4(), NO_STREAM)


def test_concurrent_openers_migrate_once(pg_schema: PgSchema) -> None:
    opened: list[PostgresDatabase] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_store() -> None:
        start.wait()
        try:
            opened.append(PostgresDatabase(pg_schema.url))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for db in opened:
        db.close()
    assert errors == [] and len(opened) == 6
    with psycopg.connect(pg_schema.url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_a_reader_sees_one_snapshot_and_cannot_write(pg_schema: PgSchema) -> None:
    reader, writer = PostgresDatabase(pg_schema.url), PostgresDatabase(pg_schema.url)
    try:
        with writer.transaction() as tx:
            tx.events.append([event("a")])
        with reader.reader() as tx:
            assert tx.events.last_position() == 1
            with writer.transaction() as wtx:
                wtx.events.append([event("b")])
            assert [e.stream for e in tx.events.read_all()] == ["a"]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), reader.reader() as tx:
            tx.events.append([event("c")])
        with reader.reader() as tx:
            assert [e.stream for e in tx.events.read_all()] == ["a", "b"]
    finally:
        reader.close()
        writer.close()


def test_read_all_pages_through_a_long_log(pg_schema: PgSchema) -> None:
    db = PostgresDatabase(pg_schema.url)
    try:
        with db.transaction() as tx:
            tx.events.append([event(f"s{i}") for i in range(2500)])
        with db.reader() as tx:
            assert [e.position for e in tx.events.read_all(after=10)] == list(range(11, 2501))
            assert [e.position for e in tx.events.read_all(after=10, limit=1200)] == list(range(11, 1211))
    finally:
        db.close()


def test_a_new_stat_adds_career_columns_and_readers_see_zeros_before_a_writer_adds_them(
        pg_schema: PgSchema) -> None:
    base = load_catalog()
    wider = Catalog((*base.stats, StatDef("revives")), base.awards, base.version + 1)
    db = PostgresDatabase(pg_schema.url)
    try:
        with db.transaction() as tx:
            tx.careers.use_catalog(base)
            tx.players.add_player("p1", "One", 1, "t")
            tx.careers.put_career("p1", tuple(range(len(base.career_names))), 1)
        with db.reader() as tx:  # read-only: no column is added, the new ones read as 0
            tx.careers.use_catalog(wider)
            career = tx.careers.careers(["p1"])["p1"]
        assert len(career) == len(wider.career_names) and career[-1] == 0 and career[-2 - len(base.stat_ids)] == 0
        with db.transaction() as tx:
            tx.careers.use_catalog(wider)
            tx.careers.put_career("p1", tuple(range(len(wider.career_names))), 2)
        with db.reader() as tx:
            tx.careers.use_catalog(wider)
            assert tx.careers.careers(["p1"])["p1"] == tuple(range(len(wider.career_names)))
        with psycopg.connect(pg_schema.url) as conn:
            columns = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'careers' "
                "AND table_schema = %s", (pg_schema.name,))}
        assert {"total_revives", "best_revives"} <= columns
    finally:
        db.close()


def test_the_schema_keyword_creates_and_uses_a_schema(pg_schema: PgSchema) -> None:
    name = f"{pg_schema.name}_kw"
    db = PostgresDatabase(pg_schema.admin_url, schema=name)
    try:
        assert db.schema == name
        with db.transaction() as tx:
            tx.events.append([event("x")])
    finally:
        db.close()
        with psycopg.connect(pg_schema.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def _games(numbers: range) -> tuple[list[str], list[str], list[bytes]]:
    ids = [f"g{n}" for n in numbers]
    return ids, [f'{{"game_id": "{g}"}}' for g in ids], [derived_id_bytes(game_stream(g), 0) for g in ids]


@pytest.mark.parametrize("rows", [5, 40])  # below and above COPY_FROM: INSERTs, then a COPY
def test_a_run_refused_in_the_background_raises_concurrency_error_and_stores_nothing(pg_schema: PgSchema,
                                                                                      rows: int) -> None:
    db = PostgresDatabase(pg_schema.url)
    try:
        with db.transaction() as tx:
            tx.events.append_games(*_games(range(rows)), 1)
        for after in ("nothing", "a read of the views", "an append"):
            with pytest.raises(ConcurrencyError, match="recorded concurrently"), db.transaction() as tx:
                tx.events.append_games(*_games(range(rows - 1, 2 * rows)), 1)  # its first game is stored
                tx.events.background.executor.submit(lambda: None).result()  # the run's write has failed by now
                if after == "a read of the views":  # finds the transaction failed
                    tx.players.registered(["p1"])
                elif after == "an append":
                    tx.events.append([event("after")])
            with db.reader() as tx:
                assert tx.events.last_position() == rows
        with db.transaction() as tx:  # the connection is fine
            first, _ = tx.events.append_games(*_games(range(rows, 2 * rows)), 1)
        assert first == rows + 1
        with db.reader() as tx:
            assert [e.stream for e in tx.events.read_all()] == [game_stream(f"g{n}") for n in range(2 * rows)]
    finally:
        db.close()


def test_the_long_columns_share_one_compression(pg_schema: PgSchema) -> None:
    """lz4 where the server has it: pglz made the COPY of a write's runs of positions cost more than its events'."""
    PostgresDatabase(pg_schema.url).close()
    with psycopg.connect(pg_schema.url) as conn:
        methods = dict(conn.execute(
            "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute "
            "WHERE (attrelid, attname) IN (('events'::regclass, 'data'), ('game_lines'::regclass, 'lines'), "
            "('player_runs'::regclass, 'positions'))").fetchall())
        has_lz4 = conn.execute("SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' "
                               "AND 'lz4' = ANY(enumvals)").fetchone()
    assert len(methods) == 3
    assert set(methods.values()) == ({"l"} if has_lz4 and has_lz4[0] else {""}), methods


def test_an_interrupt_is_raised_as_such_though_a_run_was_refused_in_the_background(pg_schema: PgSchema) -> None:
    db = PostgresDatabase(pg_schema.url)
    try:
        with db.transaction() as tx:
            tx.events.append_games(*_games(range(40)), 1)
        with pytest.raises(KeyboardInterrupt), db.transaction() as tx:  # not a ConcurrencyError to retry
            tx.events.append_games(*_games(range(39, 80)), 1)
            raise KeyboardInterrupt
        with db.reader() as tx:
            assert tx.events.last_position() == 40
    finally:
        db.close()


def test_a_closed_database_writes_runs_again(pg_schema: PgSchema) -> None:
    db = PostgresDatabase(pg_schema.url)
    try:
        with db.transaction() as tx:
            tx.events.append_games(*_games(range(40)), 1)
        db.close()
        with db.transaction() as tx:
            tx.events.append_games(*_games(range(40, 80)), 1)
        with db.reader() as tx:
            assert tx.events.last_position() == 80
    finally:
        db.close()
