"""Embedded mode's change source: poll the watched accounts' modseq.

Without Redis there is no channel between processes, yet syncs commit in the
Celery worker, not in the web process holding the EventSource. So while
anyone listens, this process asks every POLL_SECONDS, in one indexed query,
for the modseq of every watched account; for those that moved it reads the
TypeState rows that moved (jmapcore.push.positions) and delivers them. A
write committed by this very process pokes the poller (jmapcore.push.publish),
so its own API writes are heard at once. Nothing runs while nobody listens.

Passthrough accounts have no modseq that moves: the relay in the listener
process leaves their changes in a mailbox in the shared cache
(jmapcore.push.relayed), which the same poll reads (one more cache read, only
while such an account is watched); what differs from the mailbox as it was
when the account became watched, or at the previous poll, is delivered.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from jmapcore.push.feed import ChangeHub
from jmapcore.push.positions import passthrough_account_pks, positions_advance
from jmapcore.push.relayed import Changed, relayed_changed_since, relayed_mailboxes_read

logger = logging.getLogger("jmap.push")

# One indexed query per interval while anyone listens; a third of the ~1 s push budget at most.
POLL_SECONDS = 0.2
ERROR_BACKOFF_SECONDS = 2.0


Polled = tuple[dict[int, int], dict[int, dict[str, str]], dict[int, tuple[str, Changed]]]


def poll_once(*, since: Mapping[int, int], relayed: set[int]) -> Polled:
    """One poll: positions_advance for the local accounts, the mailboxes of the passthrough ones."""
    now, moved = positions_advance(since=since)
    return now, moved, relayed_mailboxes_read(account_pks=relayed) if relayed else {}


def relayed_watch(*, account_pks: set[int]) -> dict[int, tuple[str, Changed]]:
    """The mailboxes (possibly none yet) of those of `account_pks` that are passthrough accounts."""
    passthrough = passthrough_account_pks(account_pks=account_pks)
    found = relayed_mailboxes_read(account_pks=passthrough)
    return {pk: found.get(pk, ("", {})) for pk in passthrough}


class PollSource:
    def __init__(self, *, hub: ChangeHub, interval: float = POLL_SECONDS) -> None:
        self.hub = hub
        self.interval = interval
        self._since: dict[int, int] = {}
        # Passthrough accounts: pk -> (mailbox sequence, states) last seen.
        self._relayed: dict[int, tuple[str, Changed]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def watch(self, positions: Mapping[int, int]) -> None:
        for pk, modseq in positions.items():
            self._since.setdefault(pk, modseq)
        try:
            seen = await self.hub.db(relayed_watch, account_pks=set(positions))
        except Exception:
            logger.exception("reading relayed push mailboxes failed")
            seen = {}
        for pk, entry in seen.items():
            self._relayed.setdefault(pk, entry)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="jmap-push-poll")

    async def unwatch(self, account_pks: set[int]) -> None:
        for pk in account_pks:
            self._since.pop(pk, None)
            self._relayed.pop(pk, None)

    async def close(self) -> None:
        self._since.clear()
        self._relayed.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def poke(self, account_pk: int) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while self._since:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            since = dict(self._since)
            try:
                now, moved, mailboxes = await self.hub.db(poll_once, since=since, relayed=set(self._relayed))
            except Exception:
                logger.exception("polling account modseqs failed")
                await asyncio.sleep(ERROR_BACKOFF_SECONDS)
                continue
            for pk, modseq in now.items():
                if pk not in self._since or modseq == since[pk]:
                    continue
                self._since[pk] = max(modseq, self._since[pk])
                types = moved.get(pk)
                if types:
                    self.hub.deliver(account_pk=pk, modseq=modseq, types=types)
            for pk, (seq, states) in mailboxes.items():
                seen = self._relayed.get(pk)
                if seen is None or seen[0] == seq:
                    continue
                self._relayed[pk] = (seq, states)
                self.hub.deliver_by_id(account_pk=pk, changed=relayed_changed_since(seen=seen[1], now=states))
