"""A private redis-server on 127.0.0.1 for the scale-out path (Celery broker,
Django cache, channels-redis layer).

The session-scoped `redis_server` runs one `redis-server` without persistence
on a free port; `redis_url` hands each test module a URL of its own, an
emptied logical database (SELECT n), so modules do not see each other's keys.
channels_redis.core.RedisChannelLayer keeps its channels and groups in keys,
so the database number separates them too.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers.dovecot import free_port
from tests.servers.require import server_missing

# Logical databases of a default redis-server are 0..15; 0 stays unused.
_DATABASES = 16


@dataclass
class RedisServer:
    """A running redis-server; url(n) names logical database n."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"
    _next_db: int = field(default=1)

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def command(self, *words: str) -> bytes:
        """One command in RESP; the first line of the reply (enough for PING, FLUSHDB)."""
        request = f"*{len(words)}\r\n".encode() + b"".join(
            f"${len(w.encode())}\r\n".encode() + w.encode() + b"\r\n" for w in words
        )
        with socket.create_connection((self.host, self.port), timeout=5) as conn:
            conn.sendall(request)
            return conn.recv(4096).split(b"\r\n", 1)[0]

    def database_new(self) -> str:
        """The URL of an emptied logical database nobody else in this session got."""
        db = self._next_db
        self._next_db = db + 1 if db + 1 < _DATABASES else 1
        with socket.create_connection((self.host, self.port), timeout=5) as conn:
            conn.sendall(f"SELECT {db}\r\nFLUSHDB\r\n".encode())
            reply = b""
            while reply.count(b"\r\n") < 2:
                chunk = conn.recv(64)
                if not chunk:
                    break
                reply += chunk
        if reply != b"+OK\r\n+OK\r\n":
            raise RuntimeError(f"redis FLUSHDB of db {db} answered {reply!r}")
        return self.url(db)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None


def redis_binary() -> str | None:
    """$JMAP_TEST_REDIS_SERVER when set (None if that file is missing), else redis-server on PATH."""
    configured = os.environ.get("JMAP_TEST_REDIS_SERVER")
    if configured:
        return configured if os.path.isfile(configured) else None
    return shutil.which("redis-server")


def redis_available() -> str | None:
    """None when redis-server can run here, else why not."""
    if redis_binary() is None:
        return "redis-server is not installed (apt-get install redis-server)"
    return None


def redis_start(directory: Path) -> RedisServer:
    """Start redis-server in `directory` on a free 127.0.0.1 port; wait for PONG."""
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    server = RedisServer(port=free_port(), directory=directory)
    server.process = subprocess.Popen(
        [binary, "--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), "--databases", str(_DATABASES)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if server.command("PING").startswith(b"+PONG"):
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError("redis-server did not start")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    reason = redis_available()
    if reason:
        server_missing(reason)
    directory = Path(tempfile.mkdtemp(prefix="jmap-redis-"))
    server = redis_start(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_url(redis_server: RedisServer) -> str:
    """redis://127.0.0.1:PORT/N: a logical database of its own for this module."""
    return redis_server.database_new()
