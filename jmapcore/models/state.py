"""Per-type JMAP state (see jmapcore.state)."""
from __future__ import annotations

from django.db import models

__all__ = ["TypeState"]


class TypeState(models.Model):
    """The state of one data type in one account (RFC 8620 §5.1 "state").

    `modseq` is the account modseq of the last change to any object of the
    type; the type's state string is derived from it. `tombstone_horizon` is
    the highest modseq of a tombstone purged so far: /changes and /queryChanges
    can only answer from a state at or after it (DESIGN.md "The cache and state").
    """

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="type_states")
    type_name = models.CharField(max_length=64)
    modseq = models.BigIntegerField(default=0)
    tombstone_horizon = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "type_name"], name="jmapcore_typestate_unique")]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.type_name}@{self.modseq}"
