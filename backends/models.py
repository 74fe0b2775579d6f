"""What the backends learn about an account beyond its settings.

- UpstreamOAuthState: the outcome of a passthrough account's OAuth refreshes
  (backends.jmap.oauth): when the last one succeeded, the last error, and
  which refresh token the authorization server rejected for good, so that a
  dead grant is not presented again and again (RFC 6749 §5.2 invalid_grant).
- JmapAccessOffer: the JMAP Session URL an IMAP server announced through
  RFC 9698 JMAPACCESS (backends.imap.jmap_access), shown by the management
  API and, with JMAP_SWITCH_TO_JMAPACCESS, used to turn the account into a
  passthrough account.

No secret is stored here: a rejected refresh token is remembered only by a
SHA-256 digest.
"""
from __future__ import annotations

from django.db import models

from accounts.models import Account


class UpstreamOAuthState(models.Model):
    """One passthrough account's OAuth refresh record (see the module doc)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="oauth_state")
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # Successful refresh_token grants, all time: the dashboard's and the tests' evidence of one grant per expiry.
    grants = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    error_at = models.DateTimeField(null=True, blank=True)
    # sha256(token URL, client id, its configured secret, refresh token) of a grant the authorization
    # server refused for good; "" when none. Refreshing stops until one of them changes.
    rejected_digest = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"OAuth state of {self.account_id}"


class JmapAccessOffer(models.Model):
    """An IMAP account's JMAP Session URL, as its server announced it (RFC 9698 §4)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="jmap_access")
    session_url = models.URLField(max_length=1024)
    learned_at = models.DateTimeField()
    # Set when the proxy switched the account to passthrough with this URL.
    switched_at = models.DateTimeField(null=True, blank=True)
    # Why the switch was not made (the upstream Session check failed, a part would be lost); "" when none.
    switch_error = models.TextField(blank=True)
    switch_error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"JMAPACCESS of {self.account_id}: {self.session_url}"
