"""Bearer tokens for JMAP clients (RFC 6750), stored only as SHA-256 digests.

The plaintext token is returned once by token_issue() and never kept; the
``prefix`` column holds its first characters so people can tell tokens apart.

Revoking sends ``tokens_revoked`` (token_pks=[...]) so that connections that
outlive a request -- EventSource, WebSocket -- can be closed; jmapcore.push.revocation
listens (accounts does not import jmapcore).
"""
from __future__ import annotations

import secrets
from datetime import datetime

from django.dispatch import Signal
from django.utils import timezone

from accounts.auth import token_hash
from accounts.models import ApiToken, Pool

TOKEN_PREFIX = "jmap_"  # noqa: S105 -- a public marker, not a credential
DISPLAY_PREFIX_LENGTH = 12

# Sent (inside the revoking transaction) with token_pks: the tokens just revoked.
tokens_revoked = Signal()


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
        tokens_revoked.send(sender=ApiToken, token_pks=[token.pk])
    else:
        token.refresh_from_db(fields=["revoked_at"])


def token_revoke_all(*, pool: Pool) -> int:
    """Revoke every live token of ``pool``; returns how many were revoked."""
    live = ApiToken.objects.filter(pool=pool, revoked_at__isnull=True)
    token_pks = list(live.values_list("pk", flat=True))
    revoked = ApiToken.objects.filter(pk__in=token_pks, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if token_pks:
        tokens_revoked.send(sender=ApiToken, token_pks=token_pks)
    return revoked
