"""The proxy's real settings with a short PushWatch TTL, so that the rows of a
killed web process expire within a test's patience (jmapcore.push.watch)."""
from __future__ import annotations

from jmapsite.settings import *  # noqa: F403

JMAP_PUSH_WATCH_TTL = 6
