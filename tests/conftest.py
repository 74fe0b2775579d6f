"""Shared fixtures. Real servers (Dovecot, OpenBao, ...) live in tests/servers/,
one plugin module each, started on 127.0.0.1 by the suite itself."""
from __future__ import annotations

pytest_plugins = [
    "tests.servers.ports",
    "tests.servers.dovecot",
    "tests.servers.smtp",
    "tests.servers.openbao",
    "tests.servers.postgres",
    "tests.servers.redis",
    "tests.servers.proxy",
    "tests.servers.tcp_relay",
    "tests.personas",
]
