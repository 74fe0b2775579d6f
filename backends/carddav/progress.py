"""The CardDAV part's corner of Account.sync_progress (key "carddav").

Keys: "url" (the CardDAV URL discovery found when carddav_url is empty; read by
jmapcore.contacts.capability.contacts_carddav_url), "principal", "homes" and
"from" (the carddav_url they were found from, so a changed URL rediscovers),
"parseProblems"/"parseProblemCount" (backends.carddav.sync), and the outcome
written by accounts.sync.sync_parts_run: "syncedAt", or "error"/"errorAt".
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accounts.models import Account

PART = "carddav"


def carddav_progress(account: Account) -> dict[str, Any]:
    progress = account.sync_progress if isinstance(account.sync_progress, dict) else {}
    mine = progress.get(PART)
    return mine if isinstance(mine, dict) else {}


def carddav_progress_update(*, account: Account, values: dict[str, Any], remove: Iterable[str] = ()) -> None:
    from accounts.sync import sync_progress_part_update

    sync_progress_part_update(account=account, part=PART, values=values, remove=remove)
