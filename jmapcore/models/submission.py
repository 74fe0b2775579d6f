"""EmailSubmission (RFC 8621 §7), stored in the proxy: SMTP keeps no record.

A row is the JMAP object plus what the delayed sender needs. A submission
sent at once is created `final` with its deliveryStatus. One held with
FUTURERELEASE (RFC 4865 HOLDFOR/HOLDUNTIL) is created `pending` with the
message frozen as it was at submission time (RFC 8621 §7: the message sent
is the one at submission time), Bcc fields already removed; the delayed
sender (jmapcore.mail.submission_send) transmits it at `send_at`, then
clears `message`.

`claimed_until` is the sender's lease on a row (a sender that dies releases
it by expiry); `retry_at` delays the next attempt after a transient failure.
A destroyed (tombstoned) pending row is still sent: destroying a submission
only removes its record (RFC 8621 §7.5).
"""
from __future__ import annotations

from typing import ClassVar

from django.db import models

from jmapcore.datatypes.orm import JmapObject

__all__ = ["EmailSubmission"]


class EmailSubmission(JmapObject):
    """One sending of an Email from an Identity (RFC 8621 §7)."""

    jmap_type: ClassVar[str] = "EmailSubmission"

    class UndoStatus(models.TextChoices):
        PENDING = "pending"
        FINAL = "final"
        CANCELED = "canceled"

    identity_id = models.CharField(max_length=255)
    email_id = models.CharField(max_length=255, db_index=True)
    thread_id = models.CharField(max_length=255)
    envelope = models.JSONField(help_text="the Envelope used (RFC 8621 §7), generated when the client gave none")
    send_at = models.DateTimeField(help_text="when the message was / will be released")
    undo_status = models.CharField(max_length=16, choices=UndoStatus.choices, default=UndoStatus.FINAL)
    delivery_status = models.JSONField(null=True, blank=True, help_text="{recipient: DeliveryStatus} or null")
    dsn_blob_ids = models.JSONField(default=list, blank=True)
    mdn_blob_ids = models.JSONField(default=list, blank=True)

    # -- the delayed sender ----------------------------------------------------
    message = models.BinaryField(default=b"", blank=True, help_text="frozen message (no Bcc) while pending")
    mail_from_params = models.JSONField(default=dict, blank=True, help_text="MAIL FROM parameters to send with")
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="a sender holds the row until then")
    retry_at = models.DateTimeField(null=True, blank=True, help_text="next attempt after a transient failure")
    send_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta(JmapObject.Meta):
        indexes = [
            *JmapObject.Meta.indexes,
            models.Index(fields=["undo_status", "send_at"], name="submission_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.jmap_id} {self.email_id} {self.undo_status}"
