"""Identity (RFC 8621 §6), stored in the proxy: IMAP/SMTP have no such object.

Each account has one default identity for its own address (is_default,
may_delete False), created on first access by jmapcore.mail.methods.identity; the
client may add more for addresses the account may send from.
"""
from __future__ import annotations

from typing import ClassVar

from django.db import models

from jmapcore.datatypes.orm import JmapObject

__all__ = ["Identity"]


class Identity(JmapObject):
    """A From address with its name, reply-to, bcc and signatures (RFC 8621 §6)."""

    jmap_type: ClassVar[str] = "Identity"

    name = models.CharField(max_length=255, blank=True, default="")
    email = models.CharField(max_length=255, help_text='an address, or "*@domain" for any address at domain')
    reply_to = models.JSONField(null=True, blank=True, help_text="EmailAddress[] or null")
    bcc = models.JSONField(null=True, blank=True, help_text="EmailAddress[] or null")
    text_signature = models.TextField(blank=True, default="")
    html_signature = models.TextField(blank=True, default="")
    may_delete = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text="the account's own address; cannot be destroyed")

    class Meta(JmapObject.Meta):
        verbose_name_plural = "identities"
        constraints = [
            *JmapObject.Meta.constraints,
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(is_default=True), name="identity_one_default_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email
