"""`celery -A jmapsite worker --embedded`: one worker process that also runs the
beat schedule and the IMAP IDLE listener, each as a thread.

This is the embedded (all-in-one) start's worker (jmapsite.process_specs): one
process of about 110 MiB instead of three. Celery's own `-B` would fork the
beat into a second process, hence this bootstep. Scale-out keeps a process per
role (`runproxy --worker-only`, `--beat-only`, `--listener-only`).

The step starts before the worker consumes its queue and stops after it stops
consuming (Celery's warm shutdown on SIGTERM): the listener logs every watcher
out, the schedule is saved. Both threads are daemons, so a hard shutdown never
waits for them.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from celery import bootsteps
from celery.beat import Service

log = logging.getLogger("jmap.embedded")

# How long a stop waits for the beat thread to save the schedule.
BEAT_STOP_SECONDS = 5.0


class _BeatThread(threading.Thread):
    """The beat schedule in a thread: the scheduler of the settings
    (django_celery_beat's DatabaseScheduler, the schedule the admin shows),
    ticked as `celery beat` does, but waiting on an Event rather than in
    time.sleep, so that a stop is immediate."""

    def __init__(self, app: Any, *, schedule_filename: str) -> None:
        super().__init__(name="beat", daemon=True)
        self.app = app
        # Service(scheduler_cls=None) would fall back to the file-based
        # PersistentScheduler, not the configured one.
        self.service = Service(app, scheduler_cls=app.conf.beat_scheduler, schedule_filename=schedule_filename)
        self._halt = threading.Event()

    def run(self) -> None:
        from django.db import connections

        self.app.set_current()
        scheduler = None
        try:
            scheduler = self.service.scheduler
            while not self._halt.is_set():
                interval = scheduler.tick()  # sends what is due; seconds until the next
                if interval and interval > 0:
                    self._halt.wait(interval)
                if scheduler.should_sync():
                    scheduler.sync()
        except Exception:
            log.exception("the embedded beat schedule stopped")
        finally:
            if scheduler is not None:
                scheduler.close()  # saves last run times
            connections.close_all()  # this thread's database connection

    def stop(self) -> None:
        self._halt.set()


class EmbeddedServices:
    """The beat thread and the IDLE listener thread of an --embedded worker."""

    def __init__(self, app: Any, *, datadir: Path) -> None:
        self.app = app
        self.datadir = datadir
        self.beat: _BeatThread | None = None
        self.listener: threading.Thread | None = None
        self.listener_stop = threading.Event()

    def start(self) -> None:
        from backends.imap.idle import imap_listener_run
        from backends.management.commands.imap_listener import listener_status_file

        self.beat = _BeatThread(self.app, schedule_filename=str(self.datadir / "run" / "celerybeat-schedule"))
        self.beat.start()
        status_file = listener_status_file(datadir=self.datadir, pid=os.getpid())
        self.listener = threading.Thread(
            target=imap_listener_run,
            kwargs={"stop": self.listener_stop, "status_file": status_file},
            name="imap-idle-listener",
            daemon=True,
        )
        self.listener.start()
        # The push relay of passthrough accounts lives beside the IDLE listener and stops with it.
        from backends.jmap.push_relay import push_relay_run, relay_status_file

        relay_file = relay_status_file(datadir=self.datadir, pid=os.getpid())
        threading.Thread(target=push_relay_run, kwargs={"stop": self.listener_stop, "status_file": relay_file},
                         name="jmap-push-relay", daemon=True).start()  # fmt: skip

    def stop(self) -> None:
        # Both at once: the listener logs every watcher out meanwhile.
        if self.beat is not None:
            self.beat.stop()
        self.listener_stop.set()
        if self.listener is not None:
            self.listener.join()  # imap_listener_run bounds its own wait for each watcher
        if self.beat is not None:
            self.beat.join(BEAT_STOP_SECONDS)

    terminate = stop


class EmbeddedStep(bootsteps.StartStopStep):
    """The worker bootstep behind --embedded (registered in jmapsite.celery)."""

    label = "jmap-embedded"
    # After the pool, before the consumer (which Celery always starts last).
    requires = ("celery.worker.components:Pool",)

    def __init__(self, parent: Any, embedded: bool = False, **kwargs: Any) -> None:
        self.enabled = bool(embedded)
        super().__init__(parent, **kwargs)

    def create(self, parent: Any) -> EmbeddedServices:
        from django.conf import settings

        return EmbeddedServices(parent.app, datadir=Path(settings.DATADIR))
