"""One module per data type; importing this package registers every handler."""
from __future__ import annotations

import jmapcore.methods.blob  # noqa: F401
from jmapcore.methods import (  # noqa: F401
    core,
    email,
    email_submission,
    identity,
    mailbox,
    push_subscription,
    quota,
    submission_capability,
    thread,
    vacation,
    websocket_push,
)
