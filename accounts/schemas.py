"""JSON shapes of the management API, in the product README's names
(accountid, imapHost, imapSSL, caldavURL, sessionUrl, authType, ...).

Inputs reject unknown fields (a misspelt "imapSsl" must not be silently
ignored) and never coerce types loosely: "imapSSL": "2" or true is an error.
Outputs never contain a password, an OAuth token or a bearer token, except
TokenIssuedOut.token, which is the one time a new token's plaintext is shown.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.utils import timezone
from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from accounts.models import Account, ApiToken, UpstreamAccount
from accounts.secrets import stored_scheme

SSL_VALUES = (0, 1, 2, 3)
SSL_MESSAGE = "must be 0, 1, 2 or 3"

# Model field names (as used by accounts.services) -> the API's names.
API_FIELD_NAMES: dict[str, str] = {
    "accountid": "accountid",
    "email": "email",
    "name": "name",
    "kind": "type",
    "username": "username",
    "password": "password",
    "imap_host": "imapHost",
    "imap_port": "imapPort",
    "imap_ssl": "imapSSL",
    "smtp_host": "smtpHost",
    "smtp_port": "smtpPort",
    "smtp_ssl": "smtpSSL",
    "caldav_url": "caldavURL",
    "carddav_url": "carddavURL",
    "session_url": "sessionUrl",
    "auth_type": "authType",
    "oauth_access_token": "oauthAccessToken",
    "oauth_refresh_token": "oauthRefreshToken",
    "oauth_token_url": "oauthTokenUrl",
    "oauth_client_id": "oauthClientId",
    "is_read_only": "readOnly",
    "login_password": "loginPassword",
    "pool": "pool",
}
MODEL_FIELD_NAMES: dict[str, str] = {api: model for model, api in API_FIELD_NAMES.items()}


def api_field_name(model_name: str) -> str:
    return API_FIELD_NAMES.get(model_name, model_name)


def _ssl(value: int | None) -> int | None:
    if value is not None and value not in SSL_VALUES:
        raise ValueError(SSL_MESSAGE)
    return value


def _port(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 65535:
        raise ValueError("must be between 1 and 65535")
    return value


class _StrictIn(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)


class AccountIn(_StrictIn):
    """POST /api/accounts. `type` defaults to "jmap" when sessionUrl is given.

    pool: the login of an existing pool to add this account to (the login then
    sees both accounts). loginPassword: a JMAP login password different from the
    backend password. check: false skips the backend check.
    """

    accountid: str = Field(min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=255)
    type: Literal["imap", "jmap"] | None = None
    name: str = Field(default="", max_length=255)
    username: str = Field(default="", max_length=255)
    password: str = Field(min_length=1)
    imapHost: str = Field(default="", max_length=255)
    imapPort: int | None = None
    imapSSL: int | None = None
    smtpHost: str = Field(default="", max_length=255)
    smtpPort: int | None = None
    smtpSSL: int | None = None
    caldavURL: str = Field(default="", max_length=1024)
    carddavURL: str = Field(default="", max_length=1024)
    sessionUrl: str = Field(default="", max_length=1024)
    authType: Literal["basic", "bearer", "oauth"] = "basic"
    # authType "oauth" (passthrough only): the tokens of an OAuth 2.0 grant reach the upstream,
    # `password` is only the JMAP login's; the access token is refreshed at oauthTokenUrl (else
    # discovered, RFC 8414) as oauthClientId.
    oauthAccessToken: str = Field(default="", max_length=8192)
    oauthRefreshToken: str = Field(default="", max_length=8192)
    oauthTokenUrl: str = Field(default="", max_length=1024)
    oauthClientId: str = Field(default="", max_length=255)
    readOnly: bool = False
    loginPassword: str | None = Field(default=None, min_length=1)
    pool: str | None = Field(default=None, min_length=1)
    check: bool = True

    _ssl_values = field_validator("imapSSL", "smtpSSL")(_ssl)
    _port_values = field_validator("imapPort", "smtpPort")(_port)


class AccountPatch(_StrictIn):
    """PATCH /api/accounts/{accountid}: only the fields present change.

    accountid may be sent but must equal the path's (ids never change).
    """

    accountid: str = ""
    email: str = Field(default="", min_length=3, max_length=255)
    type: Literal["imap", "jmap"] = "imap"
    name: str = Field(default="", max_length=255)
    username: str = Field(default="", max_length=255)
    password: str = Field(default="", min_length=1)
    imapHost: str = Field(default="", max_length=255)
    imapPort: int = 993
    imapSSL: int = 2
    smtpHost: str = Field(default="", max_length=255)
    smtpPort: int = 587
    smtpSSL: int = 3
    caldavURL: str = Field(default="", max_length=1024)
    carddavURL: str = Field(default="", max_length=1024)
    sessionUrl: str = Field(default="", max_length=1024)
    authType: Literal["basic", "bearer"] = "basic"
    # An OAuth account's new tokens (after its refresh token was refused, say) and settings.
    oauthAccessToken: str = Field(default="", min_length=1, max_length=8192)
    oauthRefreshToken: str = Field(default="", min_length=1, max_length=8192)
    oauthTokenUrl: str = Field(default="", max_length=1024)
    oauthClientId: str = Field(default="", max_length=255)
    readOnly: bool = False
    loginPassword: str = Field(default="", min_length=1)
    check: bool = True

    _ssl_values = field_validator("imapSSL", "smtpSSL")(_ssl)
    _port_values = field_validator("imapPort", "smtpPort")(_port)

    def model_changes(self) -> dict[str, Any]:
        """The fields the client sent, under the model's names (accountid and check excluded)."""
        sent = self.model_dump(exclude_unset=True, exclude={"accountid", "check"})
        return {MODEL_FIELD_NAMES[name]: value for name, value in sent.items()}


class UpstreamAccountOut(Schema):
    """One account a JMAP passthrough account's credentials see upstream.

    accountId is its id in the pool's JMAP Session, upstreamAccountId the
    upstream server's own.
    """

    accountId: str
    upstreamAccountId: str
    name: str
    isReadOnly: bool

    @classmethod
    def of(cls, row: UpstreamAccount) -> UpstreamAccountOut:
        return cls(accountId=row.proxy_id, upstreamAccountId=row.upstream_id, name=row.name,
                   isReadOnly=row.is_read_only)


class AccountOut(Schema):
    """An account as the API shows it: settings and sync status, no secrets.

    upstreamAccounts lists a passthrough account's upstream accounts (empty
    for other kinds, and until the upstream Session was fetched). jmapAccess is
    the JMAP Session URL the IMAP server announced (RFC 9698 JMAPACCESS) with
    "offered" while the account may switch to it, or null
    (backends.imap.jmap_access.jmap_access_describe). oauth is the outcome of
    an OAuth account's token refreshes (backends.jmap.oauth.oauth_state_describe:
    refreshedAt, error, errorAt, refusedForGood), {} before the first.
    """

    accountid: str
    email: str
    name: str
    type: str
    pool: str
    username: str
    imapHost: str
    imapPort: int
    imapSSL: int
    smtpHost: str
    smtpPort: int
    smtpSSL: int
    caldavURL: str
    carddavURL: str
    sessionUrl: str
    authType: str
    readOnly: bool
    passwordStorage: Literal["none", "plain", "enc1", "vault"]
    created: datetime
    updated: datetime
    lastSyncAt: datetime | None
    lastSyncError: str
    lastSyncErrorAt: datetime | None
    syncProgress: dict[str, Any]
    upstreamAccounts: list[UpstreamAccountOut]
    jmapAccess: dict[str, Any] | None = None
    oauth: dict[str, Any] = {}

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        from backends.imap.jmap_access import jmap_access_describe
        from backends.jmap.oauth import oauth_state_describe

        upstream = (
            [UpstreamAccountOut.of(row) for row in account.upstream_accounts.all()]
            if account.kind == Account.Kind.JMAP else []
        )
        return cls(
            accountid=account.accountid,
            email=account.email,
            name=account.name,
            type=account.kind,
            pool=account.pool.login,
            username=account.username,
            imapHost=account.imap_host,
            imapPort=account.imap_port,
            imapSSL=account.imap_ssl,
            smtpHost=account.smtp_host,
            smtpPort=account.smtp_port,
            smtpSSL=account.smtp_ssl,
            caldavURL=account.caldav_url,
            carddavURL=account.carddav_url,
            sessionUrl=account.session_url,
            authType=account.auth_type,
            readOnly=account.is_read_only,
            passwordStorage=stored_scheme(account.password).value if account.password else "none",
            created=account.created_at,
            updated=account.updated_at,
            lastSyncAt=account.last_sync_at,
            lastSyncError=account.last_sync_error,
            lastSyncErrorAt=account.last_sync_error_at,
            syncProgress=account.sync_progress or {},
            upstreamAccounts=upstream,
            jmapAccess=jmap_access_describe(account=account),
            oauth=oauth_state_describe(account=account) if account.auth_type == Account.AuthType.OAUTH else {},
        )


class TokenIn(Schema):
    """POST /api/accounts/{accountid}/tokens (the body is optional).

    Not strict: expiresAt arrives as an ISO 8601 string and becomes a datetime.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=255)
    expiresAt: datetime | None = None

    @field_validator("expiresAt")
    @classmethod
    def _aware_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("must include a time zone offset (e.g. 2030-01-01T00:00:00Z)")
        if value <= timezone.now():
            raise ValueError("must be in the future")
        return value


class TokenOut(Schema):
    """A bearer token without its secret."""

    id: int
    name: str
    prefix: str
    pool: str
    created: datetime
    expiresAt: datetime | None
    lastUsedAt: datetime | None
    lastUsedIp: str | None
    revokedAt: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.pk,
            name=token.name,
            prefix=token.prefix,
            pool=token.pool.login,
            created=token.created_at,
            expiresAt=token.expires_at,
            lastUsedAt=token.last_used_at,
            lastUsedIp=token.last_used_ip,
            revokedAt=token.revoked_at,
        )


class TokenIssuedOut(TokenOut):
    """A new token: `token` is its plaintext, shown this once and never again."""

    token: str


class SyncQueuedOut(Schema):
    accountid: str
    queued: bool
    lastSyncError: str


class ErrorOut(Schema):
    """Every error: a short code, a sentence, and for 422 the fields at fault."""

    error: str
    detail: str = ""
    fields: dict[str, str] | None = None
