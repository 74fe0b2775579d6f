"""Bearer tokens for JMAP clients (RFC 6750), stored only as SHA-256 digests.

The plaintext token is returned once by token_issue() and never kept; the
``prefix`` column holds its first characters so people can tell tokens apart.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from django.utils import timezone

from accounts.auth import token_hash
from accounts.models import ApiToken, Pool

TOKEN_PREFIX = "jmap_"  # noqa: S105 -- a public marker, not a credential
DISPLAY_PREFIX_LENGTH = 12


def token_issue(*, pool: Pool, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``pool``; returns the row and the plaintext (shown once)."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        pool=pool,
        name=name,
        token_hash=token_hash(plaintext),
        prefix=plaintext[:DISPLAY_PREFIX_LENGTH],
        expires_at=expires_at,
    )
    return token, plaintext


def token_revoke(*, token: ApiToken) -> None:
    """Revoke ``token`` now (idempotent: an earlier revocation time is kept)."""
    now = timezone.now()
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        token.revoked_at = now
    else:
        token.refresh_from_db(fields=["revoked_at"])


def token_revoke_all(*, pool: Pool) -> int:
    """Revoke every live token of ``pool``; returns how many were revoked."""
    return ApiToken.objects.filter(pool=pool, revoked_at__isnull=True).update(revoked_at=timezone.now())
