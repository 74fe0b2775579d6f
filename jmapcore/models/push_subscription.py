"""PushSubscription (RFC 8620 §7.2): a URL the server POSTs StateChange objects to.

A subscription belongs to a login (accounts.Pool), not to an account: it has
no accountId, no /changes and no state. It hears about every account of its
pool. `url` and `keys` are write-only (RFC 8620 §7.2.1) and are erased with
the row when the subscription is destroyed (§7.2: "securely erase").
"""
from __future__ import annotations

from django.db import models

__all__ = ["PushSubscription"]


class PushSubscription(models.Model):
    """One client device's push endpoint, its verification and delivery health."""

    pool = models.ForeignKey("accounts.Pool", on_delete=models.CASCADE, related_name="push_subscriptions")
    jmap_id = models.CharField(max_length=255, unique=True)
    device_client_id = models.CharField(max_length=255)
    url = models.TextField(help_text="write-only: never returned to clients")
    keys = models.JSONField(null=True, blank=True, help_text="RFC 8291 p256dh and auth, or null; write-only")
    # The code the server pushed in the PushVerification; the client proves it
    # received the push by setting it (RFC 8620 §7.2.2).
    verification_code = models.CharField(max_length=64)
    verified = models.BooleanField(default=False)
    expires = models.DateTimeField()
    types = models.JSONField(null=True, blank=True, help_text="type names to push, or null for all")
    # Consecutive failed deliveries; reset by a success.
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["pool", "verified"]), models.Index(fields=["expires"])]

    def __str__(self) -> str:
        return f"{self.jmap_id} ({self.device_client_id})"
