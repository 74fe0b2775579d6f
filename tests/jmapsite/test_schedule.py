"""jmapsite.schedule: the beat schedule as django_celery_beat rows (created
idempotently, following JMAP_SYNC_INTERVAL, visible in the dashboard), and the
housekeeping tasks it names doing their work."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from pytest_django.fixtures import Settings

from jmapsite.celery import app as celery_app
from jmapsite.schedule import periodic_tasks_install
from tests.personas import Persona

pytestmark = pytest.mark.django_db


def installed() -> dict[str, tuple[str, int, str, int | None, bool]]:
    return {
        task.name: (task.task, task.interval.every, task.interval.period, task.expire_seconds, task.enabled)
        for task in PeriodicTask.objects.select_related("interval")
    }


def test_install_creates_the_periodic_tasks(settings: Settings) -> None:
    settings.JMAP_SYNC_INTERVAL = 30
    settings.JMAP_DAV_POLL_LISTENING = 15
    periodic_tasks_install()
    assert installed() == {
        "sync due accounts": ("accounts.tasks.accounts_sync_due_task", 30, "seconds", 30, True),
        "purge expired uploads": ("jmapsite.tasks.blobs_purge_task", 1, "hours", 3600, True),
        "purge old tombstones": ("jmapsite.tasks.tombstones_purge_task", 1, "days", 86400, True),
        "send due submissions": ("jmapsite.tasks.submissions_send_due_task", 10, "seconds", 10, True),
        "purge expired push subscriptions": ("jmapsite.tasks.push_subscriptions_purge_task", 1, "hours", 3600, True),
        "poll CardDAV of watched accounts": ("backends.carddav.tasks.carddav_watched_poll_task", 15, "seconds", 15,
                                             True),
    }


def test_every_scheduled_task_is_a_registered_celery_task() -> None:
    import accounts.tasks  # noqa: F401 - what the worker's autodiscovery imports
    import jmapsite.tasks  # noqa: F401

    periodic_tasks_install()
    tasks = list(PeriodicTask.objects.all())
    assert tasks, "periodic_tasks_install() scheduled nothing"
    for task in tasks:
        assert task.task in celery_app.tasks, task.task


def test_install_is_idempotent() -> None:
    periodic_tasks_install()
    first = {t.name: (t.pk, t.date_changed) for t in PeriodicTask.objects.all()}
    schedules = IntervalSchedule.objects.count()
    periodic_tasks_install()
    assert {t.name: (t.pk, t.date_changed) for t in PeriodicTask.objects.all()} == first
    assert IntervalSchedule.objects.count() == schedules


def test_install_follows_a_new_sync_interval(settings: Settings) -> None:
    settings.JMAP_SYNC_INTERVAL = 30
    periodic_tasks_install()
    settings.JMAP_SYNC_INTERVAL = 45
    periodic_tasks_install()
    assert installed()["sync due accounts"][1:4] == (45, "seconds", 45)
    assert PeriodicTask.objects.filter(name="sync due accounts").count() == 1


def test_install_keeps_the_operators_choice_to_pause_a_task() -> None:
    periodic_tasks_install()
    PeriodicTask.objects.filter(name="purge old tombstones").update(enabled=False)
    periodic_tasks_install()
    assert installed()["purge old tombstones"][4] is False


def test_install_repairs_an_edited_task() -> None:
    periodic_tasks_install()
    PeriodicTask.objects.filter(name="purge expired uploads").update(task="something.else")
    periodic_tasks_install()
    assert installed()["purge expired uploads"][0] == "jmapsite.tasks.blobs_purge_task"


def test_schedule_is_visible_in_the_dashboard(mgmt_client: Client) -> None:
    periodic_tasks_install()
    User.objects.create_superuser("operator", "operator@example.test", "operator-pw")
    mgmt_client.force_login(User.objects.get(username="operator"))
    url = reverse("admin:django_celery_beat_periodictask_changelist", urlconf=settings.MGMT_URLCONF)
    response = mgmt_client.get(url)
    assert response.status_code == 200
    for name in (
        "sync due accounts",
        "purge expired uploads",
        "purge old tombstones",
        "send due submissions",
        "purge expired push subscriptions",
        "poll CardDAV of watched accounts",
    ):
        assert name.encode() in response.content


def test_blob_purge_task_deletes_expired_uploads(alice: Persona) -> None:
    from jmapcore.blobs import blob_exists, blob_store
    from jmapcore.models import UploadedBlob
    from jmapsite.tasks import blobs_purge_task

    expired = blob_store(account=alice.account, data=b"left behind", type="text/plain")
    kept = blob_store(account=alice.account, data=b"still fresh", type="text/plain")
    UploadedBlob.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert blobs_purge_task.apply().get() == 1
    assert not blob_exists(account=alice.account, blob_id=expired.blob_id)
    assert blob_exists(account=alice.account, blob_id=kept.blob_id)


def test_tombstone_purge_task_runs(alice: Persona) -> None:
    from jmapsite.tasks import tombstones_purge_task

    # No destroyed objects yet: nothing to purge, and the task completes.
    assert tombstones_purge_task.apply().get() == 0
