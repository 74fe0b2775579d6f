"""`manage.py imap_listener`: IMAP IDLE for the accounts someone is watching
(backends.imap.idle). Started by `runproxy` (embedded, --worker-only,
--listener-only); SIGTERM or SIGINT logs every watcher out and stops."""
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
        imap_listener_run(stop=stop, status_file=listener_status_file(datadir=Path(settings.DATADIR), pid=os.getpid()))
