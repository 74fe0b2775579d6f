"""Mail's method handlers, one module per data type (see jmapcore.mail);
importing this package registers them all."""
from __future__ import annotations

from jmapcore.mail.methods import (  # noqa: F401
    email,
    email_submission,
    identity,
    mailbox,
    quota,
    thread,
    vacation,
)
