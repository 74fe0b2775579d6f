"""Scale-out's change source: a channels_redis group per account.

Every process that commits a change publishes it to the group
``jmap.push.account.<pk>`` (jmapcore.push.publish). A web process with
listeners holds one channel of its own, joins the group of every watched
account once (however many listeners share it) and fans messages out through
its hub; a passthrough account's relayed changes arrive in the same group,
keyed by accountId (jmapcore.push.relayed). Group membership expires in channels_redis (group_expiry, a day by
default), so memberships are renewed every GROUP_REFRESH_SECONDS.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from jmapcore.push.feed import ChangeHub

logger = logging.getLogger("jmap.push")

STATE_MESSAGE = "jmap.state_change"
GROUP_REFRESH_SECONDS = 3600.0
ERROR_BACKOFF_SECONDS = 1.0


def account_group(account_pk: int) -> str:
    """The group name of an account (channels allows only [a-zA-Z0-9_.-])."""
    return f"jmap.push.account.{int(account_pk)}"


def state_message(*, account_pk: int, modseq: int | None, types: Mapping[str, str]) -> dict[str, Any]:
    """The channel-layer message for one committed change (msgpack-able)."""
    return {"type": STATE_MESSAGE, "account": int(account_pk), "modseq": modseq, "changed": dict(types)}


class ChannelsSource:
    def __init__(self, *, hub: ChangeHub, layer: Any) -> None:
        self.hub = hub
        self.layer = layer
        self._channel: str | None = None
        self._groups: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []

    async def watch(self, positions: Mapping[int, int]) -> None:
        if self._channel is None:
            self._channel = await self.layer.new_channel(prefix="jmap-push.")
            loop = asyncio.get_running_loop()
            self._tasks = [
                loop.create_task(self._receive(), name="jmap-push-receive"),
                loop.create_task(self._refresh(), name="jmap-push-refresh"),
            ]
        for pk in positions:
            if pk not in self._groups:
                await self.layer.group_add(account_group(pk), self._channel)
                self._groups.add(pk)

    async def unwatch(self, account_pks: set[int]) -> None:
        for pk in account_pks & self._groups:
            self._groups.discard(pk)
            if self._channel is not None:
                await self.layer.group_discard(account_group(pk), self._channel)

    async def close(self) -> None:
        await self.unwatch(set(self._groups))
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._channel = None

    def poke(self, account_pk: int) -> None:
        """Nothing to do: this process's own writes arrive through the group too."""

    async def _receive(self) -> None:
        assert self._channel is not None
        while True:
            try:
                message = await self.layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("receiving push messages failed")
                await asyncio.sleep(ERROR_BACKOFF_SECONDS)
                continue
            if message.get("type") != STATE_MESSAGE:
                continue
            if "accounts" in message:
                self._relayed(message)
                continue
            try:
                account_pk = int(message["account"])
                modseq = message.get("modseq")
                types = {str(k): str(v) for k, v in dict(message["changed"]).items()}
            except (KeyError, TypeError, ValueError):
                logger.warning("ignoring a malformed push message")
                continue
            self.hub.deliver(account_pk=account_pk, modseq=modseq if isinstance(modseq, int) else None, types=types)

    def _relayed(self, message: dict[str, Any]) -> None:
        """A passthrough account's change relayed from its upstream (jmapcore.push.relayed)."""
        from jmapcore.push.relayed import relayed_changed_clean

        try:
            account_pk = int(message["account"])
        except (KeyError, TypeError, ValueError):
            logger.warning("ignoring a malformed relayed push message")
            return
        self.hub.deliver_by_id(account_pk=account_pk, changed=relayed_changed_clean(message.get("accounts")))

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            for pk in list(self._groups):
                try:
                    if self._channel is not None:
                        await self.layer.group_add(account_group(pk), self._channel)
                except Exception:
                    logger.exception("renewing a push group failed")
