"""The Celery application; tasks are thin wrappers that call services."""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")

app = Celery("jmapsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
