"""The default calendar (draft-ietf-jmap-calendars-33 §4 isDefault): exactly
one live Calendar of an account has isDefault true whenever it has any.

CalDAV has no notion of a default collection (RFC 6638's
schedule-default-calendar-URL is not offered by Radicale or Xandikos), so the
proxy keeps the flag in its cache: when no calendar is default (the first
sync, or the default one was removed by this or another client), the first
by sortOrder, then name, then age becomes it; Calendar/set's
onSuccessSetIsDefault (§4.3) moves it. Every flag change moves the row's
modseq, so Calendar/changes reports it.
"""
from __future__ import annotations

from django.utils import timezone

from accounts.models import Account
from jmapcore.models.calendars import Calendar
from jmapcore.state import state_change_atomic

__all__ = ["calendar_default_ensure", "calendar_default_repair", "calendar_default_set"]


def _flag(calendar: Calendar, *, value: bool, modseq: int) -> None:
    # update() skips auto_now: updated_at is set by hand (the tombstone window reads it).
    Calendar.objects.filter(pk=calendar.pk).update(is_default=value, updated_modseq=modseq, updated_at=timezone.now())
    calendar.is_default = value
    calendar.updated_modseq = modseq


def calendar_default_repair(*, account: Account, modseq: int) -> list[str]:
    """Inside the caller's state_change_atomic (type Calendar): make exactly one
    live calendar default, at `modseq`. Returns the ids whose flag changed."""
    live = list(
        Calendar.objects.select_for_update()
        .filter(account=account, destroyed=False)
        .order_by("sort_order", "name", "pk")
    )
    defaults = [calendar for calendar in live if calendar.is_default]
    keep = defaults[0] if defaults else (live[0] if live else None)
    changed: list[str] = []
    for calendar in live:
        wanted = calendar is keep
        if calendar.is_default != wanted:
            _flag(calendar, value=wanted, modseq=modseq)
            changed.append(calendar.jmap_id)
    return changed


def calendar_default_ensure(*, account: Account) -> None:
    """Repair the flag when it is not exactly one live calendar; one query when
    it is (every Calendar/get and /changes calls this before reading the state)."""
    live = Calendar.objects.filter(account=account, destroyed=False)
    defaults = live.filter(is_default=True).count()
    if defaults == 1 or (defaults == 0 and not live.exists()):
        return
    with state_change_atomic(account=account, type_names=["Calendar"]) as modseq:
        calendar_default_repair(account=account, modseq=modseq)


def calendar_default_set(*, account: Account, jmap_id: str) -> dict[str, bool]:
    """Make the live calendar `jmap_id` of `account` the default (draft-33 §4.3
    onSuccessSetIsDefault). Returns {id: new isDefault} for every calendar whose
    flag changed; {} when the id names no live calendar of the account or it is
    already the default (the draft says to ignore such a request)."""
    target = Calendar.objects.filter(account=account, destroyed=False, jmap_id=jmap_id).first()
    if target is None or target.is_default:
        return {}
    with state_change_atomic(account=account, type_names=["Calendar"]) as modseq:
        changed: dict[str, bool] = {}
        others = Calendar.objects.select_for_update().filter(account=account, destroyed=False, is_default=True)
        for calendar in others.exclude(pk=target.pk):
            _flag(calendar, value=False, modseq=modseq)
            changed[calendar.jmap_id] = False
        _flag(target, value=True, modseq=modseq)
        changed[target.jmap_id] = True
    return changed
