"""Quotas (RFC 9425) as read from the IMAP server's GETQUOTAROOT (RFC 9208)."""
from __future__ import annotations

from typing import ClassVar

from django.db import models

from jmapcore.datatypes.orm import JmapObject

__all__ = ["Quota"]


class Quota(JmapObject):
    """One resource limit of one IMAP quota root, e.g. STORAGE of "User quota"."""

    jmap_type: ClassVar[str] = "Quota"

    root = models.CharField(max_length=255, help_text="the IMAP quota root name")
    resource = models.CharField(max_length=64, help_text="the IMAP resource name, e.g. STORAGE")
    resource_type = models.CharField(max_length=16, help_text="RFC 9425 resourceType: octets or count")
    used = models.BigIntegerField(default=0)
    hard_limit = models.BigIntegerField(default=0)

    class Meta(JmapObject.Meta):
        constraints = [
            *JmapObject.Meta.constraints,
            models.UniqueConstraint(fields=["account", "root", "resource"], name="quota_account_root_resource"),
        ]

    def __str__(self) -> str:
        return f"{self.root} {self.resource}"
