"""`manage.py imap_listener`: IMAP IDLE for the accounts someone is watching
(backends.imap.idle), and the push relay of the watched passthrough accounts
(backends.jmap.push_relay) in a second thread. Started by `runproxy`
(embedded, --worker-only, --listener-only); SIGTERM or SIGINT logs every
watcher out, closes every upstream event stream and stops."""
from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from backends.imap.idle import imap_listener_run
from backends.jmap.push_relay import push_relay_run, relay_status_file

# How long a stop waits for the push relay to close its upstream streams.
RELAY_STOP_SECONDS = 10.0


def listener_status_file(*, datadir: Path, pid: int) -> Path:
    """Where a listener describes its watchers (JSON; one file per listener process)."""
    return datadir / "run" / f"imap-listener-{pid}.json"


class Command(BaseCommand):
    help = "Watch the accounts that have a push listener with IMAP IDLE/NOTIFY and queue a sync on every change."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        datadir = Path(settings.DATADIR)
        relay = threading.Thread(
            target=push_relay_run,
            kwargs={"stop": stop, "status_file": relay_status_file(datadir=datadir, pid=os.getpid())},
            name="jmap-push-relay",
            daemon=True,
        )
        relay.start()
        try:
            imap_listener_run(stop=stop, status_file=listener_status_file(datadir=datadir, pid=os.getpid()))
        finally:
            stop.set()
            relay.join(RELAY_STOP_SECONDS)
