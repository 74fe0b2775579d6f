"""The CalDAV part's corner of Account.sync_progress (key "caldav").

Keys: "url" (the CalDAV URL discovery found when caldav_url is empty; read by
jmapcore.calendars.capability.calendars_caldav_url), "principal", "homes",
"from" (the caldav_url they were found from, so a changed URL rediscovers),
"inbox"/"outbox" (RFC 6638 scheduling collections, when offered),
"parseProblems"/"parseProblemCount" (backends.caldav.sync), and the outcome
written by accounts.sync.sync_parts_run: "syncedAt", or "error"/"errorAt".
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accounts.models import Account

PART = "caldav"


def caldav_progress(account: Account) -> dict[str, Any]:
    progress = account.sync_progress if isinstance(account.sync_progress, dict) else {}
    mine = progress.get(PART)
    return mine if isinstance(mine, dict) else {}


def caldav_progress_update(*, account: Account, values: dict[str, Any], remove: Iterable[str] = ()) -> None:
    from accounts.sync import sync_progress_part_update

    found = sync_progress_part_update(account=account, part=PART, values=values, remove=remove)
    # Keep the caller's object in step (the capability reads account.sync_progress).
    if isinstance(account.sync_progress, dict):
        account.sync_progress[PART] = found
    else:
        account.sync_progress = {PART: found}
