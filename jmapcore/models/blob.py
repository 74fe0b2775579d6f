"""Uploaded blobs (RFC 8620 §6; services in jmapcore.blobs).

A row says "account X may read the bytes with this SHA-256 under blob id Y".
The bytes themselves live once on disk under settings.BLOB_DIR, named by their
SHA-256, and are shared by every row (of any account) with the same digest:
access is always decided by the row, never by the file.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["UploadedBlob"]


class UploadedBlob(models.Model):
    """One blob an account has uploaded (or copied, or created with Blob/upload).

    `expires_at` is set while nothing references the blob: such uploads are
    purged after jmapcore.blobs.UNREFERENCED_TTL (RFC 8620 §6.1 lets the
    server delete unreferenced blobs after at least an hour). A null
    `expires_at` means the blob is referenced and kept.
    """

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="uploaded_blobs")
    blob_id = models.CharField(max_length=64, help_text="the JMAP blobId (opaque, unique per account)")
    sha256 = models.CharField(max_length=64, db_index=True, help_text="hex digest; names the file on disk")
    size = models.BigIntegerField()
    type = models.CharField(max_length=255, default="application/octet-stream", help_text="media type")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="null: referenced, kept")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "blob_id"], name="uploadedblob_account_blob_id_unique"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="uploadedblob_expires_at_idx")]

    def __str__(self) -> str:
        return f"{self.blob_id} ({self.size} octets)"
