"""Thread/get and Thread/changes (RFC 8621 §3)."""
from __future__ import annotations

from typing import Any

from jmapcore.datatypes.base import DataType, Property
from jmapcore.datatypes.orm import JmapObject
from jmapcore.datatypes.standard import register_standard_methods
from jmapcore.mail.capability import MAIL_CAPABILITY
from jmapcore.models.mail import Email, Thread


class ThreadType(DataType):
    """A thread's emailIds are its live emails, oldest first (RFC 8621 §3: sorted
    by receivedAt, ties broken by id order here)."""

    name = "Thread"
    capability = MAIL_CAPABILITY
    model = Thread
    id_prefix = "t"
    properties = (Property("id", server_set=True), Property("emailIds", server_set=True))

    def property_value(self, row: JmapObject, prop: Property) -> Any:
        if prop.name == "emailIds":
            return list(
                Email.objects.filter(account_id=row.account_id, thread_id=row.jmap_id, destroyed=False)
                .order_by("received_at", "pk")
                .values_list("jmap_id", flat=True)
            )
        return super().property_value(row, prop)


THREAD_TYPE = ThreadType()
register_standard_methods(THREAD_TYPE, methods=("get", "changes"))
