"""Thread/get and Thread/changes (RFC 8621 §3)."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from accounts.models import Account
from jmapcore.datatypes.base import DataType, Property
from jmapcore.datatypes.orm import JmapObject
from jmapcore.datatypes.standard import register_standard_methods
from jmapcore.mail.capability import MAIL_CAPABILITY
from jmapcore.models.mail import Email, Thread

# Where rows_prefetch leaves each thread's emailIds for property_value.
_EMAIL_IDS = "_prefetched_email_ids"


def thread_email_ids(*, account_id: int, thread_ids: Collection[str]) -> dict[str, list[str]]:
    """{thread id: its live emails' ids, oldest first} for every thread id given
    of account `account_id`, in one query whatever their number (the
    (account, thread_id) index)."""
    found: dict[str, list[str]] = {thread_id: [] for thread_id in thread_ids}
    if not found:
        return found
    rows = (
        Email.objects.filter(account_id=account_id, thread_id__in=list(found), destroyed=False)
        .order_by("received_at", "pk")
        .values_list("thread_id", "jmap_id")
    )
    for thread_id, email_id in rows:
        found[thread_id].append(email_id)
    return found


class ThreadType(DataType):
    """A thread's emailIds are its live emails, oldest first (RFC 8621 §3: sorted
    by receivedAt, ties broken by id order here)."""

    name = "Thread"
    capability = MAIL_CAPABILITY
    model = Thread
    id_prefix = "t"
    properties = (Property("id", server_set=True), Property("emailIds", server_set=True))

    def rows_prefetch(self, account: Account, rows: list[JmapObject], properties: Collection[str]) -> None:
        """Every requested thread's emailIds in one query (not one per thread)."""
        if "emailIds" not in properties or not rows:
            return
        email_ids = thread_email_ids(account_id=account.pk, thread_ids=[row.jmap_id for row in rows])
        for row in rows:
            setattr(row, _EMAIL_IDS, email_ids[row.jmap_id])

    def property_value(self, row: JmapObject, prop: Property) -> Any:
        if prop.name == "emailIds":
            prefetched = getattr(row, _EMAIL_IDS, None)
            if prefetched is not None:
                return list(prefetched)
            return thread_email_ids(account_id=row.account_id, thread_ids=[row.jmap_id])[row.jmap_id]
        return super().property_value(row, prop)


THREAD_TYPE = ThreadType()
register_standard_methods(THREAD_TYPE, methods=("get", "changes"))
