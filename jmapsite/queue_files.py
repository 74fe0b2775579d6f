"""The embedded start's task queue: kombu's filesystem transport, with message
files that appear whole.

kombu's filesystem transport creates a message file under its final name in the
queue folder and then writes it; a worker listing the folder in between (it
lists it every 0.1 s, jmapsite.settings) moves the empty file away, fails to
decode it, and Celery stops the worker with "Unrecoverable error". With the
beat schedule, the IDLE listener and the consumer in one process (the
embedded worker, jmapsite.embedded) that window is hit at start. Here a message
is written under a name the reader skips (it takes only `<...>.<queue>.msg`)
and renamed into place, which is atomic within one folder (rename(2)).

transport_install() makes the `filesystem://` URL use this transport, so the
broker URL and the folder layout (jmapsite.monitoring.queue_depth) stay as
they are.
"""
from __future__ import annotations

import os
import uuid
from contextlib import suppress
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, _transport_cache, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu itself names the argument "payload" here and "message" in AbstractChannel.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Put `payload` onto `queue` as one file that appears complete."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: partition(".") gives the reader no "<queue>.msg" suffix.
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with suppress(OSError):
                os.unlink(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def transport_install() -> None:
    """Route `filesystem://` broker URLs to this module's Transport (idempotent)."""
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"
    _transport_cache.pop("filesystem", None)
