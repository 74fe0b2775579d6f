"""jmapcore's tables: per-type state and tombstone horizon (state.py), uploaded
blobs (blob.py), the mail cache (mail.py), the contacts (contacts.py) and
calendars (calendars.py) caches. Each submodule owns its models; this
package re-exports them."""
from __future__ import annotations

from jmapcore.models.blob import *  # noqa: F403
from jmapcore.models.calendars import *  # noqa: F403
from jmapcore.models.contacts import *  # noqa: F403
from jmapcore.models.identity import *  # noqa: F403
from jmapcore.models.mail import *  # noqa: F403
from jmapcore.models.push_subscription import *  # noqa: F403
from jmapcore.models.push_watch import *  # noqa: F403
from jmapcore.models.quota import *  # noqa: F403
from jmapcore.models.state import *  # noqa: F403
from jmapcore.models.submission import *  # noqa: F403
from jmapcore.models.vacation import *  # noqa: F403
