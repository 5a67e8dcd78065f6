"""A TCP proxy in front of the test PostgreSQL server, for fault tests: it can freeze (keep every connection
open and forward nothing: a server that stopped answering) or sever (close every connection and refuse new
ones: a server that went away), and be restored."""

from __future__ import annotations

import contextlib
import socket
import threading

import psycopg

from tests.conftest import pg_admin_url, schema_url


class PgProxy:
    def __init__(self, port: int = 5432) -> None:
        self.target = ("127.0.0.1", port)
        self.frozen = threading.Event()
        self.cut = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, schema: str) -> str:
        """A URL to the test database through this proxy, using ``schema``."""
        dbname = psycopg.conninfo.conninfo_to_dict(pg_admin_url()).get("dbname") or "postgres"
        return schema_url(f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}", schema)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.frozen.is_set():
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def freeze(self) -> None:
        self.frozen.set()

    def sever(self) -> None:
        self.cut.set()
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.open = []

    def restore(self) -> None:
        self.cut.clear()
        self.frozen.clear()

    def close(self) -> None:
        self.sever()
        self.listener.close()
