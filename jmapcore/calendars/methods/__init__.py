"""Method handlers of urn:ietf:params:jmap:calendars, one module per data type
(see jmapcore.mail for the shape); importing this package registers the
capabilities and every handler."""
from __future__ import annotations

from jmapcore.calendars import capability  # noqa: F401
from jmapcore.calendars.methods import (  # noqa: F401
    calendar,
    calendar_event,
    calendar_event_notification,
    participant_identity,
)
from jmapcore.principals import availability  # noqa: F401  (Principal/getAvailability)
