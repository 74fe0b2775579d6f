"""Logins (pools), the accounts they see, and bearer tokens.

A Pool is one login: the credentials a JMAP client presents. It sees one or
more Accounts; each Account becomes one JMAP accountId in the session.
Secrets (backend password, OAuth tokens) are stored through accounts.secrets:
plaintext, `enc1:` or `vault:` values may coexist in these columns.
"""
from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from accounts.secret_column import SecretTextField

# RFC 8620 §1.2: an Id is 1-255 octets of URL-safe base64 characters.
jmap_id_validator = RegexValidator(r"^[A-Za-z0-9_-]{1,64}$", "use 1-64 letters, digits, '-' or '_'")


class SslMode(models.IntegerChoices):
    """The product README's imapSSL/smtpSSL values."""

    PLAIN = 0, "plain"
    PLAIN_ALIAS = 1, "plain (alias)"
    TLS = 2, "SSL/TLS from the start"
    STARTTLS = 3, "STARTTLS"


class Pool(models.Model):
    """One login: a JMAP client authenticates as a pool and sees its accounts."""

    login = models.CharField(max_length=255, unique=True, help_text="usually an email address")
    password_hash = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["login"]

    def __str__(self) -> str:
        return self.login


class Account(models.Model):
    """A backend account, exposed as one JMAP account."""

    class Kind(models.TextChoices):
        IMAP = "imap", "IMAP/SMTP (+CalDAV/CardDAV)"
        JMAP = "jmap", "JMAP passthrough"

    class AuthType(models.TextChoices):
        BASIC = "basic", "Basic"
        BEARER = "bearer", "Bearer"
        # Bearer with an OAuth 2.0 access token, refreshed with the refresh token (RFC 6749 §6).
        OAUTH = "oauth", "OAuth 2.0"

    accountid = models.CharField(max_length=64, unique=True, validators=[jmap_id_validator])
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="accounts")
    email = models.EmailField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.IMAP)
    is_read_only = models.BooleanField(default=False)

    username = models.CharField(max_length=255, blank=True)
    # Reading one gives the stored value tagged with its row (accounts.secret_column).
    password = SecretTextField(blank=True, help_text="secret: plaintext, enc1: or vault: value")
    oauth_access_token = SecretTextField(blank=True, help_text="secret")
    oauth_refresh_token = SecretTextField(blank=True, help_text="secret")
    # Where the refresh token is exchanged (RFC 6749 §6), and the client it was issued to.
    oauth_token_url = models.URLField(max_length=1024, blank=True)
    oauth_client_id = models.CharField(max_length=255, blank=True)

    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_ssl = models.PositiveSmallIntegerField(choices=SslMode.choices, default=SslMode.TLS)
    smtp_host = models.CharField(max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_ssl = models.PositiveSmallIntegerField(choices=SslMode.choices, default=SslMode.STARTTLS)
    caldav_url = models.URLField(max_length=1024, blank=True)
    carddav_url = models.URLField(max_length=1024, blank=True)

    session_url = models.URLField(max_length=1024, blank=True)
    auth_type = models.CharField(max_length=8, choices=AuthType.choices, default=AuthType.BASIC)
    # A passthrough account's last upstream Session (RFC 8620 §2), its URLs made absolute
    # (backends.jmap); {} until fetched. Its accounts are the UpstreamAccount rows.
    upstream_session = models.JSONField(default=dict, blank=True)

    # One modseq counter per account (DESIGN.md, "The cache and state").
    modseq = models.BigIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.TextField(blank=True)
    last_sync_error_at = models.DateTimeField(null=True, blank=True)
    sync_progress = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["accountid"]

    def __str__(self) -> str:
        return self.accountid

    @property
    def backend_host(self) -> str:
        if self.kind == self.Kind.JMAP:
            return self.session_url
        return self.imap_host


class UpstreamAccount(models.Model):
    """One account of a passthrough Account's upstream JMAP server, as the pool sees it.

    A passthrough Account (kind "jmap") stands for every account its
    credentials see upstream (backends.jmap). Each gets its own JMAP accountId
    in the proxy's Session, `proxy_id`, unique among every Account.accountid
    and UpstreamAccount.proxy_id; the upstream's primary account gets the
    Account's own accountid. Ids stay stable across Session refreshes.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="upstream_accounts")
    upstream_id = models.CharField(max_length=255)
    proxy_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, blank=True)
    is_personal = models.BooleanField(default=True)
    is_read_only = models.BooleanField(default=False)
    # The upstream's accountCapabilities for this account, filtered to those the proxy carries.
    capabilities = models.JSONField(default=dict, blank=True)
    # Order within the Account (the upstream's primary accounts first).
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["account_id", "position", "proxy_id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "upstream_id"], name="upstream_account_once"),
        ]

    def __str__(self) -> str:
        return f"{self.proxy_id} ({self.upstream_id} at {self.account_id})"


class ApiToken(models.Model):
    """A bearer token for a pool, stored only as a SHA-256 hash."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=255, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="first characters, to tell tokens apart")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.pool.login})"


class CryptoParameter(models.Model):
    """Installation-wide, non-secret parameters of credential encryption.

    Kept in the database rather than $JMAP_DATADIR because in scale-out every
    node shares the database but not the data directory (accounts.crypto.keys):
    e.g. ``enc1-kdf-salt``, the salt of the JMAP_SECRET_KEY passphrase KDF.
    """

    name = models.CharField(max_length=64, unique=True)
    value = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
