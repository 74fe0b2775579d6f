"""The periodic tasks Celery beat runs, kept as django_celery_beat rows so the
schedule is visible (and can be paused) in the admin.

periodic_tasks_install() runs at every start (runproxy): it creates the rows or
brings their task and interval back to what this code and the environment say.
An operator's choice to disable a task in the admin is kept.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

SUBMISSION_SEND_EVERY = 10


@dataclass(frozen=True)
class PeriodicSpec:
    name: str
    task: str
    every: int
    period: str  # an IntervalSchedule period: "seconds", "hours", "days"
    # Seconds after which an undelivered run is dropped; the next one replaces it.
    expire_seconds: int | None = None


def periodic_specs() -> list[PeriodicSpec]:
    interval = max(1, int(settings.JMAP_SYNC_INTERVAL))
    dav_poll = max(1, int(getattr(settings, "JMAP_DAV_POLL_LISTENING", 15) or interval))
    return [
        PeriodicSpec("sync due accounts", "accounts.tasks.accounts_sync_due_task", interval, "seconds", interval),
        PeriodicSpec("purge expired uploads", "jmapsite.tasks.blobs_purge_task", 1, "hours", 3600),
        PeriodicSpec("purge old tombstones", "jmapsite.tasks.tombstones_purge_task", 1, "days", 86400),
        # Delayed sends (RFC 8621 §7 sendAt) go out within SUBMISSION_SEND_EVERY of their time.
        PeriodicSpec(
            "send due submissions", "jmapsite.tasks.submissions_send_due_task", SUBMISSION_SEND_EVERY, "seconds",
            SUBMISSION_SEND_EVERY,
        ),
        PeriodicSpec(
            "purge expired push subscriptions", "jmapsite.tasks.push_subscriptions_purge_task", 1, "hours", 3600
        ),
        # CardDAV and CalDAV have no push: the address books and calendars of accounts a
        # client listens to are polled (backends.dav.poll, through the CardDAV task name).
        PeriodicSpec(
            "poll CardDAV of watched accounts", "backends.carddav.tasks.carddav_watched_poll_task", dav_poll,
            "seconds", dav_poll,
        ),
    ]


@transaction.atomic
def periodic_tasks_install() -> None:
    """Create or update the PeriodicTask rows of periodic_specs(); idempotent."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for spec in periodic_specs():
        schedule = IntervalSchedule.objects.filter(every=spec.every, period=spec.period).order_by("pk").first()
        if schedule is None:
            schedule = IntervalSchedule.objects.create(every=spec.every, period=spec.period)
        task = PeriodicTask.objects.filter(name=spec.name).first()
        if task is None:
            PeriodicTask.objects.create(
                name=spec.name, task=spec.task, interval=schedule, expire_seconds=spec.expire_seconds, enabled=True
            )
            continue
        wanted = {
            "task": spec.task,
            "interval": schedule,
            "crontab": None,
            "solar": None,
            "clocked": None,
            "one_off": False,
            "expire_seconds": spec.expire_seconds,
        }
        changed = [field for field, value in wanted.items() if getattr(task, field) != value]
        if changed:
            for field in changed:
                setattr(task, field, wanted[field])
            # save() (not update()) so beat's change signal tells a running beat.
            task.save()
