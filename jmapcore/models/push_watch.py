"""PushWatch: the cross-process registry of accounts someone is listening to
(DESIGN.md "Processes and ports": the listener IDLEs only for those).

Every web process's change hub (jmapcore.push.feed) holds one row per account
it has a live EventSource or WebSocket listener for, under its own `holder`
id, and heartbeats `expires_at` while the listener stays (jmapcore.push.watch).
A process that dies stops heartbeating and its rows simply expire; nobody has
to clean up after it for the listener to stop watching.
"""
from __future__ import annotations

from django.db import models

__all__ = ["PushWatch"]


class PushWatch(models.Model):
    """One web process (`holder`) has a push listener for `account` until `expires_at`."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="push_watches")
    holder = models.CharField(max_length=128, help_text="host:pid:nonce of the web process")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "holder"], name="push_watch_account_holder")]
        indexes = [models.Index(fields=["expires_at"]), models.Index(fields=["holder"])]

    def __str__(self) -> str:
        return f"account #{self.account_id} by {self.holder}"
