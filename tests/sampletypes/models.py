from __future__ import annotations

from typing import ClassVar

from django.db import models

from jmapcore.datatypes.orm import JmapObject


class Note(JmapObject):
    """A test-only JMAP object with a few property kinds: text, boolean, integer,
    a map (for nested patches) and a reference to another Note."""

    jmap_type: ClassVar[str] = "Note"

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    pinned = models.BooleanField(default=False)
    rank = models.IntegerField(default=0)
    labels = models.JSONField(default=dict, blank=True)
    parent_id = models.CharField(max_length=255, null=True, blank=True)
    # Set by the "backend" on create, as an IMAP UID or a DAV href would be.
    backend_ref = models.CharField(max_length=64, blank=True, default="")
