"""VacationResponse (RFC 8621 §8), stored in the proxy.

A singleton per account: one row whose id is always "singleton", created on
first access by jmapcore.mail.methods.vacation.
"""
from __future__ import annotations

from typing import ClassVar

from django.db import models

from jmapcore.datatypes.orm import JmapObject

__all__ = ["VACATION_SINGLETON_ID", "VacationResponse"]

VACATION_SINGLETON_ID = "singleton"


class VacationResponse(JmapObject):
    """The account's automatic reply settings (RFC 8621 §8)."""

    jmap_type: ClassVar[str] = "VacationResponse"

    is_enabled = models.BooleanField(default=False)
    from_date = models.DateTimeField(null=True, blank=True)
    to_date = models.DateTimeField(null=True, blank=True)
    subject = models.TextField(null=True, blank=True)
    text_body = models.TextField(null=True, blank=True)
    html_body = models.TextField(null=True, blank=True)

    def __str__(self) -> str:
        return f"vacation response ({'on' if self.is_enabled else 'off'})"
