"""Settings that depend on the deployment mode: where concurrency slots live, and
the middleware order that keeps Django's ASGI handler from hopping threads."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from jmapsite.env import SOURCE_DIR


def _setting(name: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    environ.update(env, JMAP_DATADIR=tempfile.mkdtemp(prefix="jmap-test-settings-"))
    out = subprocess.run(
        [sys.executable, "-c", f"import jmapsite.settings as s; print(s.{name})"],
        cwd=SOURCE_DIR, env=environ, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "local"),  # embedded: exactly one web process
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "cache"),
        ({"DATABASE_URL": "postgres://u:p@127.0.0.1:1/db"}, "cache"),  # several web processes could share it
    ],
)
def test_concurrency_slots_follow_the_mode(env: dict[str, str], expected: str) -> None:
    assert _setting("JMAP_CONCURRENCY_SLOTS", **env) == expected


def test_the_innermost_middleware_is_sync_only() -> None:
    """Django's ASGI handler runs MiddlewareMixin middleware outside the innermost
    sync-only one asynchronously, one thread hand-off per hook; with a sync-only
    middleware innermost, the whole chain runs in one go on the request's thread."""
    innermost = import_string(settings.MIDDLEWARE[-1])
    assert getattr(innermost, "sync_capable", True) and not getattr(innermost, "async_capable", False)
