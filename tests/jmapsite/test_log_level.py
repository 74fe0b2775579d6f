"""JMAP_LOG_LEVEL: what the processes log to stderr (README "Configuration").

Unset it is INFO for manage.py commands and scale-out roles; the all-in-one
start gives its processes WARNING (tests/jmapsite/test_embedded_run.py checks
that console). A value that is not a level is refused at start with a message
naming the variable, never a traceback.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.proxy import ROOT


def manage(*args: str, env_extra: dict[str, str], datadir: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JMAP_", "DJANGO_"))}
    env.update(JMAP_DATADIR=datadir, **env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(("value", "level"), [("", "INFO"), ("warning", "WARNING"), (" DEBUG ", "DEBUG")])
def test_the_level_is_read_from_the_environment(value: str, level: str, tmp_path: Path) -> None:
    shown = manage(
        "shell", "-c", "import logging; from django.conf import settings; "
        "print(settings.JMAP_LOG_LEVEL, logging.getLevelName(logging.getLogger().level))",
        env_extra={"JMAP_LOG_LEVEL": value}, datadir=str(tmp_path),
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    # The last line: Django's shell may first say what it imported.
    assert shown.stdout.strip().splitlines()[-1].split() == [level, level]


def test_a_value_that_is_not_a_level_is_refused_clearly(tmp_path: Path) -> None:
    refused = manage("check", env_extra={"JMAP_LOG_LEVEL": "loud"}, datadir=str(tmp_path))
    assert refused.returncode != 0
    assert "JMAP_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'" in refused.stderr
    assert "Traceback" not in refused.stderr
