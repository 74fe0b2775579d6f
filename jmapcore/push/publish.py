"""Send every committed state change out of the process that wrote it
(DESIGN.md "Push": published after commit by writes and syncs).

Registered with jmapcore.state.on_state_change when this module is imported
(jmapcore.methods.websocket_push imports it at start-up, in the web process
and in the Celery worker alike). With a channel layer that reaches other
processes (REDIS_URL) the change goes to the account's group; otherwise it
only pokes this process's poller, and other processes' pollers see the
modseq move in the database.
"""
from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

import jmapcore.push.revocation  # noqa: F401  (registers the revocation hooks in every process)
from accounts.models import Account
from jmapcore.push.feed import feed_poke, feed_uses_channels
from jmapcore.push.source_channels import account_group, state_message
from jmapcore.state import on_state_change


@on_state_change
def state_change_broadcast(account: Account, changed: dict[str, str]) -> None:
    """Called after commit with the types' committed states."""
    if feed_uses_channels():
        layer = get_channel_layer()
        message = state_message(account_pk=account.pk, modseq=account.modseq, types=changed)
        async_to_sync(layer.group_send)(account_group(account.pk), message)
    else:
        feed_poke(account_pk=account.pk)
