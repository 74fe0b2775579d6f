"""The Celery application; tasks are thin wrappers that call services.

`celery -A jmapsite worker --embedded` also runs the beat schedule and the IMAP
IDLE listener in the worker process (jmapsite.embedded): the all-in-one start.
"""
from __future__ import annotations

import os
import warnings

import click
from celery import Celery
from celery.exceptions import SecurityWarning

from jmapsite.queue_files import transport_install

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")

# Celery warns at every worker start when run as root (the Docker image's user);
# its concern is pickle, which lets whoever writes to the queue run code as that
# user. This app accepts JSON only (Celery's default accept_content), so the
# many-line warning would only bury the console's real warnings.
warnings.filterwarnings(
    "ignore", message=r"You're running the worker with superuser privileges", category=SecurityWarning
)

# Whole message files for the filesystem:// queue of the embedded start (jmapsite.queue_files).
transport_install()

app = Celery("jmapsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.user_options["worker"].add(
    click.Option(
        ["--embedded"],
        is_flag=True,
        default=False,
        help="Also run the beat schedule and the IMAP IDLE listener in this process (the all-in-one start).",
    )
)
app.steps["worker"].add("jmapsite.embedded:EmbeddedStep")
