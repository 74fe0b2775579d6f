"""The upstream of bench/passthrough.py: a private Cyrus IMAP 3.6 with a seeded INBOX.

`seeded_cyrus(messages=N)` starts Cyrus exactly as the test suite does
(tests/servers/cyrus.py: Debian's cyrus-imapd + cyrus-caldav, IMAP and HTTP
with the JMAP module on free ports of 127.0.0.1, its own directory and sasldb),
creates the user LOGIN and APPENDs N messages to its INBOX with MULTIAPPEND
(RFC 3502) and non-synchronising literals (RFC 7888). The messages are
bench/_mail_seed.py's realistic generator (long dotted and dashed addresses,
VERP list bounces in Sender, RFC 2047 names, threads, attachments, 2-20 KB),
the INBOX of its folder plan, so figures compare with the other mail benches.
Nothing is cached between runs: Cyrus's conversation and JMAP indexes are
built as the messages arrive, the way a real server's are.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _path in (str(BENCH), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import _mail_seed  # noqa: E402

from tests.servers.cyrus import CyrusServer, CyrusUser, cyrus_available, cyrus_start  # noqa: E402

LOGIN = "bench-passthrough"
# Not a secret: a throw-away user of a Cyrus that lives as long as the benchmark, on loopback.
PASSWORD = "bench-passthrough-pw"  # noqa: S105
APPEND_CONNECTIONS = 2  # the machine has two cores; Cyrus indexes each APPEND as it comes


@dataclass
class SeededCyrus:
    server: CyrusServer
    user: CyrusUser
    messages: int
    seed_seconds: float

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self.server.directory, ignore_errors=True)


def inbox_append(user: CyrusUser, messages: list[_mail_seed.Seeded], *, connections: int) -> None:
    """APPEND `messages` to the user's INBOX, in date order, batches spread over `connections`."""
    batches = [messages[i : i + _mail_seed.APPEND_BATCH] for i in range(0, len(messages), _mail_seed.APPEND_BATCH)]
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            conn = _mail_seed.RawImap(user.imap_host, user.imap_port)
            conn.command(b"LOGIN ", _mail_seed._quoted(user.login), b" ", _mail_seed._quoted(user.password))
            while True:
                with lock:
                    if not batches or errors:
                        break
                    batch = batches.pop(0)
                conn.multiappend("INBOX", batch)
            conn.close()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def seeded_cyrus(*, messages: int) -> SeededCyrus:
    """A running Cyrus whose user LOGIN has `messages` realistic messages in its INBOX.

    The caller stops it (SeededCyrus.stop())."""
    missing = cyrus_available()
    if missing:
        raise SystemExit(missing)
    server = cyrus_start(Path(tempfile.mkdtemp(prefix="jmap-bench-cyrus-")))
    try:
        user = server.user(LOGIN, PASSWORD)
        start = time.monotonic()
        inbox_append(user, _mail_seed.folder_messages("INBOX", messages), connections=APPEND_CONNECTIONS)
        return SeededCyrus(server=server, user=user, messages=messages, seed_seconds=time.monotonic() - start)
    except BaseException:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
        raise
