"""The interface every backend kind (imap, smtp, caldav, carddav, jmap) presents.

A backend raises BackendError, which says whether the failure is permanent
(bad password, unknown host) or transient (timeout, dropped connection), so a
caller knows whether retrying can help.
"""
from __future__ import annotations


class BackendError(Exception):
    """A backend failure. `permanent` is False when retrying may succeed."""

    def __init__(self, message: str, *, permanent: bool, kind: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.kind = kind

    def __str__(self) -> str:
        prefix = f"{self.kind}: " if self.kind else ""
        return prefix + self.message
