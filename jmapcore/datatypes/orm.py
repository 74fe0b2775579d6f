"""JmapObject: the columns every cached JMAP object row carries.

DESIGN.md "The cache and state": each row has the account modseq of its
creation and of its last change, and a destroyed flag (a tombstone) so that
/changes can report destructions. The (account, updated_modseq) index makes
/changes an index range scan.
"""
from __future__ import annotations

import base64
import secrets
from typing import ClassVar

from django.db import models


def jmap_id_new(prefix: str) -> str:
    """A fresh opaque Id (RFC 8620 §1.2): `prefix` + 80 random bits in lowercase base32.

    Random rather than sequential, so an id is never handed out twice even after
    its tombstone is purged, and reveals nothing about other objects. Lowercase
    letters and digits only: safe in URLs, file names and case-insensitive stores;
    the prefix (a letter) keeps it from starting with a digit or a dash.
    """
    return prefix + base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()


class JmapObject(models.Model):
    """Abstract base of every cached JMAP object type.

    Subclasses set `jmap_type` to the JMAP type name ("Mailbox") and add their
    own columns. Rows are never deleted by a JMAP destroy: they become
    tombstones (destroyed=True, updated_modseq = the destroying modseq) until
    jmapcore.state.tombstones_purge removes them after the retention window.
    """

    jmap_type: ClassVar[str] = ""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    jmap_id = models.CharField(max_length=255)
    created_modseq = models.BigIntegerField()
    updated_modseq = models.BigIntegerField()
    destroyed = models.BooleanField(default=False)
    # Wall-clock time of the last change; the tombstone retention window uses it.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["account", "jmap_id"], name="%(app_label)s_%(class)s_unique_jmap_id"),
        ]
        # Unnamed on purpose: Django names each concrete subclass's index itself.
        indexes = [models.Index(fields=["account", "updated_modseq"])]
