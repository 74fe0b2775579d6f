"""Services for logins (pools) and accounts, shared by the management API, the
management commands and the admin.

Contracts
---------
- account_create() checks the backend first (unless check=False): it connects
  and logs in (IMAP) or fetches the Session (JMAP passthrough) with the given
  credentials, and creates nothing when that fails (BackendCheckFailed).
  Once the creating transaction commits, the account's first sync is queued
  (accounts.sync.account_sync_enqueue_on_commit): it does not wait for beat.
- The backend password is stored sealed (accounts.secrets.seal); the JMAP login
  password only as a Django password hash on the Pool. A new login's hash
  (PBKDF2, hundreds of ms) is made in a thread while the backend check runs,
  and committed with the account in one transaction.
- Login (Pool) rules: by default an account gets a login of its own whose name
  is the account's email and whose password is the backend password, unless a
  separate login password is given. With ``pool_login`` the account joins that
  existing login instead, so one login sees several accounts; the login's
  password is then left as it is.
- account_update() has PATCH semantics: only the given fields change. A new
  backend password is sealed with the active scheme, and when the login
  password was the same as the old backend password the login password follows
  it (so "login password = backend password" stays true); an explicit
  login_password always wins. Every update also re-seals the account's other
  secrets with the active scheme (the product README's way to migrate
  credentials immediately).
- A stored credential only ever goes to the servers it was given for: an
  update that changes where or how the backend is reached (DESTINATION_FIELDS,
  or imapSSL/smtpSSL down to plain text) must carry the password in the same
  request, whether or not the backend is checked -- else FieldsInvalid on
  ``password`` and nothing changes. Without this, whoever can send one PATCH
  (a rebinding web page, a neighbour container) could point imapHost at its
  own server and have the account check, or the next sync, log in there with
  the stored password.
- account_delete() removes the account; a login left without accounts is
  removed too, with its tokens.
- A JMAP passthrough account's upstream Session is fetched and stored
  (backends.jmap.session_store: Account.upstream_session and one
  UpstreamAccount per upstream account) as soon as the account is created, and
  again when an update changes how the upstream is reached (sessionUrl,
  credentials, authType, type) or whether it is read-only, so that the pool's
  Session lists the upstream accounts at once. That fetch never makes the
  create/update fail: with check=False and an unreachable upstream the account
  is saved and the failure recorded in last_sync_error, as a sync would. An
  update that turns a passthrough account into an IMAP one drops its upstream
  accounts. A new accountid must not be the proxy accountId of an upstream
  account (FieldsInvalid on accountid): the two share one Session.

Errors are ServiceError subclasses carrying the HTTP-like status the
management API answers with; field names in errors are the model's and are
translated to the README's names by accounts.schemas.
"""
from __future__ import annotations

import threading
from typing import TypedDict
from urllib.parse import urlsplit

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Account, ApiToken, Pool, SslMode, UpstreamAccount
from accounts.password_memo import password_memo_remember
from accounts.secret_fields import account_reseal
from accounts.secrets import CryptoError, seal, unseal
from accounts.sync import account_sync_enqueue_on_commit, account_sync_error_record
from backends.base import BackendError
from backends.checks import DEFAULT_TIMEOUT, AccountFields, account_backend_check

IMAPS_PORT, IMAP_PORT = 993, 143
SUBMISSIONS_PORT, SUBMISSION_PORT = 465, 587

# Fields that decide where, or to which kind of server, the stored credentials
# are sent: changing one needs the password in the same request.
DESTINATION_FIELDS = frozenset(
    {"kind", "imap_host", "imap_port", "smtp_host", "smtp_port", "caldav_url", "carddav_url", "session_url"}
)
# Changing these to plain text would send the stored password unencrypted.
TLS_FIELDS = ("imap_ssl", "smtp_ssl")
PLAIN_MODES = frozenset({int(SslMode.PLAIN), int(SslMode.PLAIN_ALIAS)})

# Fields whose change means the backend must be checked again.
BACKEND_FIELDS = frozenset(
    {"kind", "username", "password", "imap_host", "imap_port", "imap_ssl", "session_url", "auth_type"}
)
# An OAuth account's tokens: sealed like the password, never shown.
OAUTH_TOKEN_FIELDS = ("oauth_access_token", "oauth_refresh_token")
# Fields whose change means a passthrough account's upstream Session is fetched again.
UPSTREAM_FIELDS = frozenset({"kind", "username", "password", "session_url", "auth_type", "is_read_only"})


class ServiceError(Exception):
    """A request the services refuse. `status` is the HTTP status to answer."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FieldsInvalid(ServiceError):
    """One or more fields have bad values: `fields` maps field name -> why."""

    status = 422

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in fields.items()))
        self.fields = fields


class AccountExists(ServiceError):
    status = 409


class LoginExists(ServiceError):
    status = 409


class AccountNotFound(ServiceError):
    status = 404


class TokenNotFound(ServiceError):
    status = 404


class BackendCheckFailed(ServiceError):
    """The backend refused or could not be reached; 502 when it may be
    temporary (unreachable, timeout), 422 when the settings are wrong."""

    def __init__(self, error: BackendError) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = 422 if error.permanent else 502


class AccountChanges(TypedDict, total=False):
    """The fields account_update() may change (model names)."""

    email: str
    name: str
    kind: str
    username: str
    password: str
    imap_host: str
    imap_port: int
    imap_ssl: int
    smtp_host: str
    smtp_port: int
    smtp_ssl: int
    caldav_url: str
    carddav_url: str
    session_url: str
    auth_type: str
    oauth_access_token: str
    oauth_refresh_token: str
    oauth_token_url: str
    oauth_client_id: str
    is_read_only: bool
    login_password: str


# -- logins --------------------------------------------------------------------
def pool_create(*, login: str, password: str) -> Pool:
    """A new active login with `password` (hashed). LoginExists if taken."""
    if Pool.objects.filter(login=login).exists():
        raise LoginExists(f"login {login} already exists")
    try:
        with transaction.atomic():
            return Pool.objects.create(login=login, password_hash=make_password(password))
    except IntegrityError:
        raise LoginExists(f"login {login} already exists") from None


def pool_get(*, login: str) -> Pool:
    """The login named `login`; FieldsInvalid on `pool` when there is none."""
    pool = Pool.objects.filter(login=login).first()
    if pool is None:
        raise FieldsInvalid({"pool": f"no login named {login!r} exists"})
    return pool


def pool_get_or_create(*, login: str, password: str) -> tuple[Pool, bool]:
    """The login named `login`, created with `password` if missing.

    An existing login keeps its password. Returns (pool, created).
    """
    pool = Pool.objects.filter(login=login).first()
    if pool is not None:
        return pool, False
    try:
        return pool_create(login=login, password=password), True
    except LoginExists:  # created concurrently
        return Pool.objects.get(login=login), False


def pool_password_set(*, pool: Pool, password: str) -> None:
    """Set the login password (stored as a Django password hash)."""
    pool.password_hash = make_password(password)
    pool.save(update_fields=["password_hash"])


# -- defaults and validation ------------------------------------------------------
def ssl_port_defaults(
    *, port: int | None, ssl: int | None, tls_port: int, plain_port: int, default_ssl: int
) -> tuple[int, int]:
    """Fill in whichever of port / SSL mode is missing from the other.

    Implicit TLS goes with the TLS port (993, 465) and STARTTLS with the
    plain one (143, 587); with neither given, `default_ssl`.
    """
    if ssl is None:
        if port == plain_port:
            ssl = int(SslMode.STARTTLS)
        elif port == tls_port:
            ssl = int(SslMode.TLS)
        else:
            ssl = default_ssl
    if port is None:
        port = tls_port if ssl == SslMode.TLS else plain_port
    return port, ssl


def _validation_fields(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {name: " ".join(str(m) for e in errors for m in e.messages) for name, errors in exc.error_dict.items()}
    return {"__all__": " ".join(exc.messages)}


def _account_validate(account: Account) -> None:
    """Model validation plus the rules that span fields; raises FieldsInvalid."""
    errors: dict[str, str] = {}
    try:
        account.full_clean(exclude=["pool", "password", "oauth_access_token", "oauth_refresh_token"],
                           validate_unique=False)
    except ValidationError as exc:
        errors.update(_validation_fields(exc))
    if account.kind == Account.Kind.IMAP and not account.imap_host:
        errors.setdefault("imap_host", "required for IMAP accounts")
    if account.kind == Account.Kind.JMAP and not account.session_url:
        errors.setdefault("session_url", "required for JMAP passthrough accounts")
    for name in ("caldav_url", "carddav_url", "session_url", "oauth_token_url"):
        url = getattr(account, name)
        if url and (urlsplit(url).scheme not in ("http", "https") or "@" in urlsplit(url).netloc):
            # Credentials go in the Authorization header, never in a URL that logs and errors repeat.
            errors.setdefault(name, "must be an http or https URL without user name or password in it")
    for name in ("imap_port", "smtp_port"):
        value = getattr(account, name)
        if not 1 <= int(value) <= 65535:
            errors.setdefault(name, "must be between 1 and 65535")
    if errors:
        raise FieldsInvalid(errors)


def _check(fields: AccountFields, *, timeout: float) -> None:
    try:
        account_backend_check(account_fields=fields, timeout=timeout)
    except BackendError as exc:
        raise BackendCheckFailed(exc) from None


def _fields_for_check(account: Account, *, password: str, oauth_access_token: str = "") -> AccountFields:
    return AccountFields(
        kind=account.kind,
        username=account.username or account.email,
        password=password,
        oauth_access_token=oauth_access_token,
        imap_host=account.imap_host,
        imap_port=account.imap_port,
        imap_ssl=account.imap_ssl,
        session_url=account.session_url,
        auth_type=account.auth_type,
    )


# -- accounts ----------------------------------------------------------------------
def account_create(
    *,
    accountid: str,
    email: str,
    password: str,
    kind: str | None = None,
    name: str = "",
    username: str = "",
    imap_host: str = "",
    imap_port: int | None = None,
    imap_ssl: int | None = None,
    smtp_host: str = "",
    smtp_port: int | None = None,
    smtp_ssl: int | None = None,
    caldav_url: str = "",
    carddav_url: str = "",
    session_url: str = "",
    auth_type: str = Account.AuthType.BASIC,
    oauth_access_token: str = "",
    oauth_refresh_token: str = "",
    oauth_token_url: str = "",
    oauth_client_id: str = "",
    is_read_only: bool = False,
    login_password: str | None = None,
    pool_login: str | None = None,
    check: bool = True,
    check_timeout: float = DEFAULT_TIMEOUT,
) -> Account:
    """Create an account (and its login unless `pool_login` names one); see module doc.

    `kind` defaults to "jmap" when a session_url is given, else "imap";
    `username` defaults to the email. With auth_type "oauth" (passthrough
    only) the upstream gets the OAuth access token (refreshed by
    backends.jmap.oauth) and `password` is only the login's: no backend
    password is stored. Raises FieldsInvalid, AccountExists, LoginExists or
    BackendCheckFailed; nothing is written when it raises.
    """
    if kind is None:
        kind = Account.Kind.JMAP if session_url else Account.Kind.IMAP
    # Defaults as the model's: IMAP over implicit TLS (RFC 8314 §3.3), SMTP
    # submission with STARTTLS on 587 as in the README's example.
    imap_port, imap_ssl = ssl_port_defaults(
        port=imap_port, ssl=imap_ssl, tls_port=IMAPS_PORT, plain_port=IMAP_PORT, default_ssl=SslMode.TLS
    )
    smtp_port, smtp_ssl = ssl_port_defaults(
        port=smtp_port, ssl=smtp_ssl, tls_port=SUBMISSIONS_PORT, plain_port=SUBMISSION_PORT,
        default_ssl=SslMode.STARTTLS,
    )
    account = Account(
        accountid=accountid, email=email, name=name, kind=kind, username=username or email,
        imap_host=imap_host, imap_port=imap_port, imap_ssl=imap_ssl,
        smtp_host=smtp_host, smtp_port=smtp_port, smtp_ssl=smtp_ssl,
        caldav_url=caldav_url, carddav_url=carddav_url, session_url=session_url, auth_type=auth_type,
        oauth_token_url=oauth_token_url, oauth_client_id=oauth_client_id, is_read_only=is_read_only,
    )
    errors: dict[str, str] = {}
    try:
        _account_validate(account)
    except FieldsInvalid as exc:
        errors.update(exc.fields)
    if not password:
        errors["password"] = "required"  # noqa: S105 - an error message, not a password
    oauth = auth_type == Account.AuthType.OAUTH
    if oauth:
        if kind != Account.Kind.JMAP:
            errors["auth_type"] = "oauth is for JMAP passthrough accounts"
        if not oauth_access_token:
            errors["oauth_access_token"] = "required with authType oauth"  # noqa: S105 - an error message
    elif oauth_access_token or oauth_refresh_token or oauth_token_url or oauth_client_id:
        errors["auth_type"] = "must be oauth when OAuth tokens are given"
    if pool_login is not None and login_password is not None:
        why = "cannot be combined with pool: the existing login keeps its password"
        errors["login_password"] = why
    if errors:
        raise FieldsInvalid(errors)
    if Account.objects.filter(accountid=accountid).exists():
        raise AccountExists(f"account {accountid} already exists")
    if UpstreamAccount.objects.filter(proxy_id=accountid).exists():
        raise FieldsInvalid({"accountid": "already the accountId of an upstream account of a JMAP passthrough account"})
    if pool_login is not None:
        pool_get(login=pool_login)  # fail before the (slow) backend check
    elif Pool.objects.filter(login=email).exists():
        raise LoginExists(
            f"login {email} already exists; to add this account to it, set pool to {email!r}"
        )

    # The new login's PBKDF2 hash (most of a second of CPU) is made in a thread
    # while the backend check waits on the network and, after the commit below,
    # while the first sync starts: the account is committed with its login's
    # password still unusable (no password logs in), its sync queued, and the
    # hash stored before this returns. A new user's first sync so starts about
    # half a second sooner (issue 9); should the hash fail, the account and its
    # login are removed again, so nothing stays written when this raises.
    login_hash = _PasswordHashing(login_password or password) if pool_login is None else None
    if check:
        try:
            _check(_fields_for_check(account, password="" if oauth else password,
                                     oauth_access_token=oauth_access_token), timeout=check_timeout)
        except BaseException:
            if login_hash is not None:
                login_hash.result()
            raise

    try:
        with transaction.atomic():
            if pool_login is not None:
                account.pool = pool_get(login=pool_login)
            else:
                account.pool = _pool_create_hashed(login=email, password_hash=make_password(None))
            account.password = "" if oauth else seal(password)
            # Sealed unbound here, bound to the row as it is saved (accounts.secret_column).
            account.oauth_access_token = seal(oauth_access_token) if oauth_access_token else ""
            account.oauth_refresh_token = seal(oauth_refresh_token) if oauth_refresh_token else ""
            account.save()
            # The first sync starts at once, not at the next beat tick (issue 9).
            account_sync_enqueue_on_commit(account=account)
    except IntegrityError:
        # Lost a race with a concurrent create of the same accountid.
        if login_hash is not None:
            login_hash.result()
        raise AccountExists(f"account {accountid} already exists") from None
    if login_hash is not None:
        _login_hash_store(account=account, login_hash=login_hash, password=login_password or password)
    if account.kind == Account.Kind.JMAP:
        account_upstream_refresh(account=account)
    return account


def account_upstream_refresh(*, account: Account) -> bool:
    """Fetch and store a passthrough account's upstream Session (module doc); True on success.

    Never raises for upstream or credential failures: they are recorded on the
    account (last_sync_error) like a failed sync, and the next sync retries.
    """
    from backends.jmap.session_store import upstream_session_refresh

    try:
        upstream_session_refresh(account=account)
    except BackendError as exc:
        account_sync_error_record(account=account, error=f"upstream Session: {exc}")
        return False
    except CryptoError as exc:
        account_sync_error_record(account=account, error=f"cannot read stored credentials: {exc}")
        return False
    return True


def _login_hash_store(*, account: Account, login_hash: _PasswordHashing, password: str) -> None:
    """Store the new login's hash in place of the unusable one it was created
    with (account_create); on failure remove the account and its login again."""
    pool = account.pool
    try:
        password_hash = login_hash.result()
        Pool.objects.filter(pk=pool.pk).update(password_hash=password_hash)
    except BaseException:
        Account.objects.filter(pk=account.pk).delete()
        Pool.objects.filter(pk=pool.pk).delete()
        raise
    pool.password_hash = password_hash
    # The hash was just made from this password: this process can skip PBKDF2 on
    # the client's first Basic login, which usually follows at once
    # (accounts.password_memo; same checks, only sooner).
    password_memo_remember(login=pool.login, password=password, password_hash=password_hash)


class _PasswordHashing:
    """make_password(password) in a thread: hashlib's PBKDF2 releases the GIL,
    so it runs beside the backend check's network waits. result() joins it."""

    def __init__(self, password: str) -> None:
        self._password = password
        self._hash = ""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="login-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._hash = make_password(self._password)
        except BaseException as exc:  # re-raised by result(), in the caller's thread
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._hash


def _pool_create_hashed(*, login: str, password_hash: str) -> Pool:
    """A new active login with this password hash, inside the caller's
    transaction; LoginExists if taken."""
    if Pool.objects.filter(login=login).exists():
        raise LoginExists(f"login {login} already exists")
    try:
        with transaction.atomic():
            return Pool.objects.create(login=login, password_hash=password_hash)
    except IntegrityError:
        raise LoginExists(f"login {login} already exists") from None


def account_get(*, accountid: str) -> Account:
    """The account with this JMAP accountId; AccountNotFound otherwise."""
    account = Account.objects.select_related("pool").filter(accountid=accountid).first()
    if account is None:
        raise AccountNotFound(f"no account {accountid}")
    return account


def account_list(*, pool: Pool | None = None) -> list[Account]:
    """Every account (of `pool` when given), ordered by accountid."""
    accounts = Account.objects.select_related("pool").prefetch_related("upstream_accounts").order_by("accountid")
    if pool is not None:
        accounts = accounts.filter(pool=pool)
    return list(accounts)


def _unsealed_or_none(stored: str) -> str | None:
    try:
        return unseal(stored)
    except CryptoError:
        return None


def account_destination_changes(*, account: Account, draft: Account, changed: set[str]) -> list[str]:
    """The fields by which `draft` would send the credentials elsewhere, or in plain text."""
    moved = [name for name in sorted(DESTINATION_FIELDS & changed) if getattr(draft, name) != getattr(account, name)]
    moved += [
        name
        for name in TLS_FIELDS
        if name in changed
        and int(getattr(draft, name)) in PLAIN_MODES
        and int(getattr(account, name)) not in PLAIN_MODES
    ]
    return moved


def _oauth_changes_check(*, account: Account, draft: Account, changed: set[str]) -> None:
    """FieldsInvalid unless OAuth settings change on an OAuth account, and a new token URL
    comes with the refresh token it is for (the stored one never goes to a new destination)."""
    touched = changed & {"oauth_token_url", "oauth_client_id", *OAUTH_TOKEN_FIELDS}
    if touched and draft.auth_type != Account.AuthType.OAUTH:
        raise FieldsInvalid({name: "only OAuth accounts (authType oauth) have OAuth settings" for name in touched})
    if (
        "oauth_token_url" in changed
        and draft.oauth_token_url != account.oauth_token_url
        and account.oauth_refresh_token
        and "oauth_refresh_token" not in changed
    ):
        raise FieldsInvalid({"oauth_refresh_token": "required when oauthTokenUrl changes: the stored refresh "
                                                    "token is never sent to a new destination"})  # fmt: skip


def _destination_change_check(
    *, account: Account, draft: Account, changed: set[str], new_password: str | None
) -> None:
    """FieldsInvalid unless a change of destination carries its own credentials (module doc)."""
    moved = account_destination_changes(account=account, draft=draft, changed=changed)
    if not moved:
        return
    if account.oauth_access_token or account.oauth_refresh_token:
        why = "the servers of an OAuth account cannot be changed: delete the account and add it again"
        raise FieldsInvalid({name: why for name in moved})
    if new_password is None and account.password:
        raise FieldsInvalid(
            {
                "password": "required when a server address, port, type or TLS mode changes: "
                "the stored password is never sent to a new destination"
            }
        )


def account_update(
    *,
    account: Account,
    changes: AccountChanges,
    check: bool = True,
    check_timeout: float = DEFAULT_TIMEOUT,
) -> Account:
    """Change the given fields of `account` (PATCH); see the module doc.

    The backend is checked again (unless check=False) when a field it depends
    on changes. Raises FieldsInvalid or BackendCheckFailed; nothing is written
    when it raises. Returns the updated account.
    """
    unknown = set(changes) - set(AccountChanges.__annotations__)
    if unknown:
        raise FieldsInvalid({name: "cannot be changed" for name in sorted(unknown)})
    login_password = changes.get("login_password")
    new_password = changes.get("password")
    new_tokens = {name: str(changes[name]) for name in OAUTH_TOKEN_FIELDS if name in changes}  # type: ignore[literal-required]
    # The model fields to set as given; the passwords and tokens are sealed/hashed below.
    values: dict[str, object] = {
        name: value for name, value in changes.items()
        if name not in ("login_password", "password", *OAUTH_TOKEN_FIELDS)
    }
    if new_password is not None and not new_password:
        raise FieldsInvalid({"password": "must not be empty"})
    if login_password is not None and not login_password:
        raise FieldsInvalid({"login_password": "must not be empty"})
    for name, token in new_tokens.items():
        if not token:
            raise FieldsInvalid({name: "must not be empty"})

    draft = Account.objects.get(pk=account.pk)
    for name, value in values.items():
        setattr(draft, name, value)
    _account_validate(draft)

    _destination_change_check(account=account, draft=draft, changed=set(values), new_password=new_password)
    _oauth_changes_check(account=account, draft=draft, changed=set(values) | set(new_tokens))
    backend_changed = new_password is not None or "oauth_access_token" in new_tokens or any(
        getattr(draft, name) != getattr(account, name) for name in BACKEND_FIELDS if name in values
    )
    if check and backend_changed and draft.auth_type == Account.AuthType.OAUTH:
        access = new_tokens.get("oauth_access_token") or _unsealed_or_none(draft.oauth_access_token)
        if not access:
            raise FieldsInvalid({"oauth_access_token": "the stored token cannot be decrypted; send a new one"})
        _check(_fields_for_check(draft, password="", oauth_access_token=access), timeout=check_timeout)
    elif check and backend_changed:
        current = new_password if new_password is not None else _unsealed_or_none(draft.password)
        if current is None:
            raise FieldsInvalid({"password": "the stored password cannot be decrypted; send a new one"})
        _check(_fields_for_check(draft, password=current), timeout=check_timeout)

    with transaction.atomic():
        locked = Account.objects.select_for_update().select_related("pool").get(pk=account.pk)
        old_password = _unsealed_or_none(locked.password)
        for name, value in values.items():
            setattr(locked, name, value)
        if new_password is not None:
            locked.password = seal(new_password)
        for name, token in new_tokens.items():
            setattr(locked, name, seal(token))
        locked.save()
        if locked.kind != Account.Kind.JMAP:
            # No longer a passthrough account: its upstream accounts leave the Session.
            UpstreamAccount.objects.filter(account=locked).delete()
            if locked.upstream_session:
                locked.upstream_session = {}
                locked.save(update_fields=["upstream_session"])
        pool = locked.pool
        if login_password is not None:
            pool_password_set(pool=pool, password=login_password)
        elif (
            new_password is not None
            and old_password is not None
            and check_password(old_password, pool.password_hash)
        ):
            pool_password_set(pool=pool, password=new_password)
    account_reseal(account=locked)
    upstream_changed = new_password is not None or "oauth_access_token" in new_tokens or any(
        getattr(locked, name) != getattr(account, name) for name in UPSTREAM_FIELDS - {"password"} if name in values
    )
    if locked.kind == Account.Kind.JMAP and (upstream_changed or not locked.upstream_session):
        account_upstream_refresh(account=locked)
    return locked


def account_delete(*, account: Account) -> None:
    """Delete `account`; its login goes too when no other account is left in it."""
    with transaction.atomic():
        pool_id = account.pool_id
        Account.objects.filter(pk=account.pk).delete()
        if not Account.objects.filter(pool_id=pool_id).exists():
            Pool.objects.filter(pk=pool_id).delete()


# -- tokens (listing; issuing and revoking live in accounts.tokens) ---------------
def account_token_list(*, account: Account) -> list[ApiToken]:
    """The bearer tokens of the account's login, newest first."""
    return list(ApiToken.objects.filter(pool_id=account.pool_id).order_by("-created_at", "-pk"))


def token_get(*, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_related("pool").filter(pk=token_id).first()
    if token is None:
        raise TokenNotFound(f"no token {token_id}")
    return token


__all__ = [
    "AccountChanges",
    "AccountExists",
    "AccountNotFound",
    "BackendCheckFailed",
    "FieldsInvalid",
    "LoginExists",
    "ServiceError",
    "TokenNotFound",
    "account_create",
    "account_delete",
    "account_get",
    "account_list",
    "account_token_list",
    "account_update",
    "account_upstream_refresh",
    "pool_create",
    "pool_get",
    "pool_get_or_create",
    "pool_password_set",
    "ssl_port_defaults",
    "token_get",
]
