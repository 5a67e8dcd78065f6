"""PostgreSQL backend: the production store. Same tables, same behaviour as the SQLite backend.

Global order. Positions are assigned by osmo, not by a sequence: a writer transaction first takes a
transaction-level advisory lock (``pg_advisory_xact_lock``, the equivalent of SQLite's ``BEGIN
IMMEDIATE``), then reads ``max(position)`` and numbers its events ``max + 1, max + 2, ...``. Writers run
at READ COMMITTED on purpose: every statement after the lock takes a fresh snapshot, and PostgreSQL
releases a transaction's locks only after its commit is visible, so the next writer always sees the
rows of the previous one. Hence:

- positions are contiguous (a rolled-back writer leaves no hole: the next one reads the same max);
- they are in commit order: the writer of position p + 1 got the lock after the writer of p committed.

So a reader that has seen position p + 1 has necessarily seen p: following ``position > last`` can never
skip an event committed late, which a ``bigserial`` column cannot promise (numbers are taken at
INSERT, transactions commit in any order). The price is one writer at a time per schema, exactly as
with SQLite: a chunk of 500 games holds the lock while it is folded and written (about 20 ms here). A
writer waits at most ``lock_timeout`` (10 s, like SQLite's busy timeout) and then fails with
StoreUnavailable. (Writers must not run at REPEATABLE READ: their snapshot would be taken before the
lock is granted.)

Readers. ``reader()`` is a REPEATABLE READ, READ ONLY transaction: one consistent snapshot, no lock.

Subscriptions. Writers ``NOTIFY osmo_events`` in the transaction that appended (delivered at commit,
payload ``"<schema> <last position>"``); ``PostgresDatabase.follow`` reads forward from a position and,
once caught up, blocks on ``LISTEN`` instead of polling. See its docstring.

Payloads. ``data`` and ``metadata`` are TEXT holding orjson's output, not JSONB: the bytes read back are
the bytes written (JSONB reorders object keys, and the order of a catalog's stats is its column
layout), the server does not parse JSON on the hot path (binary COPY of TEXT was about twice as fast
as JSONB here, and reads return a string orjson parses once instead of JSONB being re-serialised),
and nothing queries inside payloads: projections have their own tables. ``data::jsonb`` works in
ad-hoc SQL. Values over 2 kB (a game's packed lines, ~3 kB; catalogs) are TOAST-compressed with lz4
when the server has it: the default pglz made the COPY of packed game lines over ten times slower
(about 170 ms instead of 14 ms per 500 games here) for a size within 25 %.

Writes use binary COPY for batches (events, game lines) and pipelined ``executemany`` for the rest. The COPY of
a run of games (its events, then its game lines) is formatted by psycopg in the writing thread and sent by
the database's writer thread while the subscribers fold and evaluate the run, so the server works while the
client does (``background``); every statement of the transaction waits for it first.
Sessions run with ``plan_cache_mode = force_custom_plan``: psycopg prepares statements executed often,
and a generic plan made while the table was small (a seq scan for ``event_id = ANY(...)``) would be
kept as the table grows, making ingest quadratic.

Timestamps are the domain's ISO 8601 strings (TEXT, as in SQLite): they read back exactly as written.

Durability: PostgreSQL's ``synchronous_commit`` (``on`` by default): a commit osmo reported survives a
crash of the server or the machine.

Errors: a unique violation on ``(stream, version)`` or ``event_id`` is a ``ConcurrencyError`` (PostgreSQL
has then aborted the transaction: leave the ``with`` block, as every use case does); a lost
or refused connection (``psycopg.OperationalError``, ``InterfaceError``) is ``StoreUnavailable``, with
a message naming the server (never the password). The next transaction reconnects.

One ``PostgresDatabase`` holds one connection (plus one per running ``follow``) and one writer thread: use one
per thread.

Modules, by role: ``connection`` (the connection with its answer timeout, session settings, lock keys,
URLs and errors in messages), ``migrations`` (the schema), ``events`` (the event store), ``views`` (the
read models), ``background`` (the COPYs a transaction sends from the writer thread), ``database``
(``PostgresDatabase``: transactions and ``follow``). What the SQL is shared with
SQLite lives in ``osmo.adapters.sql_events`` and ``osmo.adapters.buffered_views``. psycopg is imported
only in this package.
"""

from osmo.adapters.postgres.connection import (
    ANSWER_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    LOCK_TIMEOUT_MS,
    Connection,
    conninfo_password,
    lock_key,
)
from osmo.adapters.postgres.database import CHANNEL, PostgresDatabase, PostgresTransaction
from osmo.adapters.postgres.events import COPY_FROM, EVENT_TYPES, PAGE, PostgresEventStore
from osmo.adapters.postgres.migrations import MIGRATIONS
from osmo.adapters.postgres.views import PostgresReadModels
from osmo.adapters.sql_events import EVENT_COLUMNS

__all__ = [
    "ANSWER_TIMEOUT_S",
    "CHANNEL",
    "CONNECT_TIMEOUT_S",
    "COPY_FROM",
    "EVENT_COLUMNS",
    "EVENT_TYPES",
    "LOCK_TIMEOUT_MS",
    "MIGRATIONS",
    "PAGE",
    "Connection",
    "PostgresDatabase",
    "PostgresEventStore",
    "PostgresReadModels",
    "PostgresTransaction",
    "conninfo_password",
    "lock_key",
]
