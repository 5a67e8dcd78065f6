"""What the network entrypoints (NATS services, HTTP API) share: the use cases run off the event loop,
and the store's committed events followed as an async stream.

The core is synchronous: ``Store`` runs use cases in worker threads, one for writes and one for reads, each
with its own ``App`` (its own database connection), so a long write never blocks a read.
``follow_events`` runs the store's catch-up subscription (``Database.follow``) in a thread of its own and
hands its events to the event loop in order, with backpressure.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

from osmo.bootstrap import App
from osmo.domain.events import RecordedEvent

P = ParamSpec("P")
T = TypeVar("T")


class Store:
    """Use cases for async callers: ``await store.write(record_games, store.writer.uow, ...)``."""

    def __init__(self, open_app: Callable[[], App]) -> None:
        self._open_app = open_app
        self.writer = open_app()
        self.reader = open_app()
        self._writes = ThreadPoolExecutor(1, thread_name_prefix="osmo-write")
        self._reads = ThreadPoolExecutor(1, thread_name_prefix="osmo-read")

    def open_app(self) -> App:
        """Another App over the same settings (for a follower's own connection)."""
        return self._open_app()

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a use case that writes, in the writer thread (writes are serialised anyway)."""
        return await asyncio.get_running_loop().run_in_executor(self._writes, partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a use case that only reads, in the reader thread."""
        return await asyncio.get_running_loop().run_in_executor(self._reads, partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._writes.shutdown(wait=True)
        self._reads.shutdown(wait=True)
        self.writer.close()
        self.reader.close()


async def follow_events(store: Store, after: int, stop: asyncio.Event, *, buffer: int = 1000,
                        wait: float = 0.5) -> AsyncIterator[RecordedEvent]:
    """Committed events with ``position > after``, in global order, until ``stop`` is set: the store's
    catch-up subscription, run in a thread with its own connection. At most ``buffer`` events wait in
    memory; the thread waits when the consumer is slower. Raises what the subscription raised
    (StoreUnavailable when the database goes away)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[RecordedEvent | BaseException | None] = asyncio.Queue(buffer)
    halt = threading.Event()

    def put(item: RecordedEvent | BaseException | None) -> None:
        while not halt.is_set():
            future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
            try:
                future.result(timeout=wait)
                return
            except TimeoutError:
                future.cancel()

    def run() -> None:
        app = store.open_app()
        try:
            for event in app.database.follow(after, wait=wait, stop=halt.is_set):
                put(event)
                if halt.is_set():
                    return
            put(None)
        except BaseException as error:  # handed to the consumer, raised there
            put(error)
        finally:
            app.close()

    thread = threading.Thread(target=run, name="osmo-follow", daemon=True)
    thread.start()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            getting = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if getting not in done:
                getting.cancel()
                return
            item = getting.result()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        halt.set()
        stopping.cancel()
        await asyncio.to_thread(thread.join, 5.0)
