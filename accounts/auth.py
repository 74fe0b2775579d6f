"""Who is calling: authentication of JMAP clients (RFC 8620 §1.6.1 leaves the
method to the server; we accept three).

- ``Authorization: Basic`` with a pool's ``login:password`` (RFC 7617), checked
  against Pool.password_hash -- so it works whatever the credential-encryption
  scheme;
- ``Authorization: Bearer`` with an API token (RFC 6750), looked up by its SHA-256
  hex digest (the token itself is never stored);
- the session cookie set by /auth/login (Django session key ``jmap_pool_id``);
  on POST and other unsafe methods it is refused when the browser says the
  request comes from another origin (Origin / Sec-Fetch-Site), against CSRF.

Failed password logins are counted per client address and per login
(accounts.ratelimit): an address past its limit gets 429 with ``retry_after``;
a login past its limit is refused only to addresses that have failed for it,
so its owner still logs in from a clean address. The client address is
jmapsite.client_address's (X-Forwarded-For only from JMAP_TRUSTED_PROXIES).
Bearer tokens are not rate-limited: they are 256-bit random values, and a stale
token in a client must not lock its whole address out.

Nothing here logs a password or a token.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib.auth.hashers import check_password, is_password_usable, make_password
from django.contrib.sessions.backends.base import SessionBase
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # not in django-stubs
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.module_loading import import_string

from accounts.models import Account, ApiToken, Pool
from accounts.password_memo import password_memo_matches, password_memo_remember
from accounts.ratelimit import attempt_count, attempt_succeeded, failures_blocked
from accounts.rows_memo import memo_get, memo_put, memo_token
from jmapsite.client_address import client_address

logger = logging.getLogger(__name__)

SESSION_POOL_KEY = "jmap_pool_id"
# A digest of the pool's password hash: changing the password ends every session.
SESSION_AUTH_KEY = "jmap_pool_auth"
LAST_USED_THROTTLE = timedelta(minutes=1)
INVALID_CREDENTIALS = "invalid login or password"


class AuthenticationFailed(Exception):
    """The request is not authenticated.

    ``status`` is 401 (no or bad credentials) or 429 (too many failures; then
    ``retry_after`` is the number of seconds to wait). ``detail`` is safe to show
    to the client and to log.
    """

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"AuthenticationFailed({self.status}, {self.detail!r}, retry_after={self.retry_after})"


def authenticate_request(request: HttpRequest) -> Pool:
    """The active Pool the request authenticates as, or AuthenticationFailed.

    An Authorization header takes precedence over the session cookie. A request
    that did not pass through SessionMiddleware has its session loaded from the
    cookie here.
    """
    return _authenticate(request, with_accounts=False)[0]


def authenticate_request_accounts(request: HttpRequest) -> tuple[Pool, dict[str, Account]]:
    """authenticate_request's Pool and that pool's accounts (as pool_accounts gives them).

    For the API endpoint, which needs both on every request: a Basic login's
    pool and accounts come from one query (_pool_by_login), read together
    at the moment of the check, so they are never older than the pool the
    credentials were checked against.
    """
    pool, accounts = _authenticate(request, with_accounts=True)
    return pool, accounts if accounts is not None else pool_accounts(pool)


def _authenticate(request: HttpRequest, *, with_accounts: bool) -> tuple[Pool, dict[str, Account] | None]:
    """authenticate_request's Pool, with its accounts when `with_accounts` and they were read with it (else None)."""
    header = str(request.META.get("HTTP_AUTHORIZATION") or "").strip()
    if header:
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return _basic(request, value.strip(), with_accounts=with_accounts)
        if scheme == "bearer":
            return _bearer(request, value.strip()), None
        raise AuthenticationFailed(401, "unsupported Authorization scheme (use Basic or Bearer)")
    session = _request_session(request)
    if session is not None and SESSION_POOL_KEY in session and not _cookie_allowed(request):
        raise AuthenticationFailed(401, "the session cookie is not accepted on a cross-site request")
    pool = _session_pool(session)
    if pool is None:
        raise AuthenticationFailed(401, "authentication required")
    return pool, None


M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Compiled:
    model: Any
    alias: str
    sql: str
    converters_at: dict[int, tuple[list[Any], Any]]  # select position -> (converters, expression)
    shared_at: frozenset[int]  # positions whose converter shares its values by design (_JsonMemo)
    init_list: list[str]
    start: int
    end: int
    related: list[Any]


class _PreparedSelect(Generic[M]):
    """A one-parameter SELECT of model rows, compiled to SQL once and rerun.

    Every API request looks up its bearer token (with its pool) and its pool's
    accounts. Turning those querysets into SQL costs several times more than
    running them on SQLite (Account has ~30 columns: ~1 ms of ORM compilation
    against ~0.2 ms of query), so the SQL, the column converters and the row
    layout are worked out once (per process: the database vendor cannot change)
    and each call only executes it. Rows become instances exactly as
    QuerySet iteration makes them (Model.from_db, select_related populators,
    the same converters). ``build(value)`` must return the queryset for
    ``value``; if its SQL does not carry ``value`` as its only parameter, the
    ORM runs it every time instead.

    On SQLite, the rows a thread's connection read are used again, without
    running the SELECT, until any change to the database (accounts.rows_memo);
    each call still gets instances of its own.
    """

    def __init__(
        self, build: Callable[[Any], QuerySet[M]], *, placeholder: Any, shared_json: frozenset[str] = frozenset()
    ) -> None:
        self._build = build
        self._placeholder = placeholder
        # JSON columns (attnames) whose large documents are parsed once per distinct text (_JsonMemo).
        self._shared_json = shared_json
        self._compiled: _Compiled | None = None
        self._orm_only = False

    def _compile(self) -> _Compiled | None:
        queryset = self._build(self._placeholder)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        if list(params) != [self._placeholder] or getattr(queryset, "_known_related_objects", None):
            return None
        select, klass_info = compiler.select, compiler.klass_info
        if klass_info is None or compiler.annotation_col_map:
            return None
        fields = klass_info["select_fields"]
        converters_at = {
            position: (self._converters_for(select[position][0], convs), expression)
            for position, (convs, expression) in compiler.get_converters([col for col, _, _ in select]).items()
        }
        return _Compiled(
            model=queryset.model,
            alias=queryset.db,
            sql=sql,
            converters_at=converters_at,
            shared_at=frozenset(
                position for position, (convs, _) in converters_at.items()
                if any(isinstance(convert, _JsonMemo) for convert in convs)
            ),
            init_list=[col.target.attname for col, _, _ in select[fields[0] : fields[-1] + 1]],
            start=fields[0],
            end=fields[-1] + 1,
            related=get_related_populators(klass_info, select, queryset.db),
        )

    def _converters_for(self, column: Any, convs: list[Any]) -> list[Any]:
        target = getattr(column, "target", None)
        if getattr(target, "attname", None) in self._shared_json:
            return [_JsonMemo(convs)]
        return convs

    def __call__(self, value: Any) -> list[M]:
        compiled = self._compiled
        if compiled is None and not self._orm_only:
            compiled = self._compiled = self._compile()
            self._orm_only = compiled is None
        if compiled is None:
            return list(self._build(value))
        connection = connections[compiled.alias]
        token = memo_token(connection)  # before the read: a change committed meanwhile voids what is kept
        key = (id(self), value)
        kept: list[_KeptRow] | None = memo_get(connection, token, key)
        if kept is None:
            with connection.cursor() as cursor:
                cursor.execute(compiled.sql, (value,))
                kept = [self._converted(compiled, raw, connection) for raw in cursor.fetchall()]
            memo_put(connection, token, key, kept)
        model = compiled.model
        found: list[M] = []
        for values, again in kept:
            row = list(values)
            for position, stored in again:  # mutable values: converted afresh for each caller
                row[position] = self._convert(compiled.converters_at[position], stored, connection)
            obj = model.from_db(compiled.alias, compiled.init_list, row[compiled.start : compiled.end])
            for populator in compiled.related:
                populator.populate(row, obj)
            found.append(obj)
        return found

    @staticmethod
    def _convert(converter: tuple[list[Any], Any], value: Any, connection: Any) -> Any:
        convs, expression = converter
        for convert in convs:
            value = convert(value, expression, connection)
        return value

    def _converted(self, compiled: _Compiled, raw: tuple[Any, ...], connection: Any) -> _KeptRow:
        """A row as the ORM converts it, and the stored values of those of its converted values that
        are mutable (accounts.rows_memo: those are converted again for each caller)."""
        row = list(raw)
        again: list[tuple[int, Any]] = []
        for position, converter in compiled.converters_at.items():
            converted = self._convert(converter, row[position], connection)
            if type(converted) not in _IMMUTABLE and position not in compiled.shared_at:
                again.append((position, row[position]))
            row[position] = converted
        return tuple(row), tuple(again)


# Converted values of these exact types are handed out again by the rows memo; others are converted afresh.
_IMMUTABLE = frozenset(
    {type(None), bool, int, float, str, bytes, datetime, date, time_of_day, timedelta, Decimal, UUID}
)
_KeptRow = tuple[tuple[Any, ...], tuple[tuple[int, Any], ...]]


class _JsonMemo:
    """A JSON column converter that parses each large document once per process.

    Account.upstream_session (a passthrough account's upstream Session, RFC
    8620 §2, up to several MiB) is read with the pool's accounts on every
    request, and the passthrough path needs it on every request (the
    upstream's capabilities and maxCallsInRequest, its API URL, the Session
    state accounts.upstream_rows keys on). Parsing it each time costs time
    proportional to its size; comparing the text just read with the text
    parsed last time costs a memcmp. So a document of at least MIN_CHARS is
    parsed by the column's own converters the first time and the parsed value
    is returned again for as long as the column holds exactly the same text:
    any change, from any process or any writer (with or without updated_at),
    gives a different text and a fresh parse. Smaller documents (``{}`` of
    every non-passthrough account) are parsed each time and never shared.

    Values returned from the memo are shared between requests and threads:
    callers treat them as read-only (a writer assigns a new dict, as
    backends.jmap.session_store does). Bounded by entries and by total text.
    """

    MIN_CHARS = 1024
    MAX_ENTRIES = 256
    MAX_TOTAL_CHARS = 64 * 1024 * 1024

    def __init__(self, convs: list[Any]) -> None:
        self._convs = convs
        self._lock = threading.Lock()
        # (length, head, tail) -> (text, parsed): the key is cheap to hash; equality is checked in full.
        self._memo: OrderedDict[tuple[int, str, str], tuple[str, Any]] = OrderedDict()
        self._total = 0

    def _parse(self, value: Any, expression: Any, connection: Any) -> Any:
        for converter in self._convs:
            value = converter(value, expression, connection)
        return value

    def __call__(self, value: Any, expression: Any, connection: Any) -> Any:
        if not isinstance(value, str) or len(value) < self.MIN_CHARS:
            return self._parse(value, expression, connection)
        key = (len(value), value[:64], value[-64:])
        with self._lock:
            entry = self._memo.get(key)
            if entry is not None and entry[0] == value:
                self._memo.move_to_end(key)
                return entry[1]
        parsed = self._parse(value, expression, connection)
        if not isinstance(parsed, dict | list):
            return parsed
        with self._lock:
            replaced = self._memo.pop(key, None)
            if replaced is not None:
                self._total -= len(replaced[0])
            self._memo[key] = (value, parsed)
            self._total += len(value)
            while self._memo and (len(self._memo) > self.MAX_ENTRIES or self._total > self.MAX_TOTAL_CHARS):
                _, (text, _) = self._memo.popitem(last=False)
                self._total -= len(text)
        return parsed


def _pool_accounts_queryset(pool_id: Any) -> QuerySet[Account]:
    return Account.objects.filter(pool_id=pool_id).order_by("accountid")


def _token_queryset(digest: Any) -> QuerySet[ApiToken]:
    # token_hash is unique: no ordering, at most one row.
    return ApiToken.objects.select_related("pool").filter(token_hash=digest).order_by()


def _pool_by_login_queryset(login: Any) -> QuerySet[Pool]:
    # login is unique: no ordering, at most one row.
    return Pool.objects.filter(login=login).order_by()


def _accounts_by_login_queryset(login: Any) -> QuerySet[Account]:
    # The accounts of the pool whose login is `login`, each with that pool (login is unique).
    return Account.objects.select_related("pool").filter(pool__login=login).order_by("accountid")


_POOL_ACCOUNTS = _PreparedSelect(
    _pool_accounts_queryset, placeholder=-7_355_608, shared_json=frozenset({"upstream_session"})
)
_TOKEN_BY_HASH = _PreparedSelect(_token_queryset, placeholder="0" * 64)
_POOL_BY_LOGIN = _PreparedSelect(_pool_by_login_queryset, placeholder="\x00placeholder-login")
_ACCOUNTS_BY_LOGIN = _PreparedSelect(
    _accounts_by_login_queryset, placeholder="\x00placeholder-login", shared_json=frozenset({"upstream_session"})
)


def pool_accounts(pool: Pool) -> dict[str, Account]:
    """Every account of ``pool``, keyed by JMAP accountId, in accountId order."""
    return {account.accountid: account for account in _POOL_ACCOUNTS(pool.pk)}


def _pool_by_login(login: str, *, with_accounts: bool) -> tuple[Pool | None, dict[str, Account] | None]:
    """The pool whose login is `login` and, when it has any, its accounts (as pool_accounts gives them).

    One query reads the accounts with their pool; only a login without
    accounts (or no such login) takes a second one, for the pool alone. That
    second query is a few tens of microseconds against the hash every failed
    check computes (milliseconds, and varying by more), so it tells nothing
    about whether a login exists. Without `with_accounts`, the pool alone.
    """
    rows = _ACCOUNTS_BY_LOGIN(login) if with_accounts else []
    if not rows:
        found = _POOL_BY_LOGIN(login)
        return (found[0] if found else None), None
    pool = rows[0].pool
    for account in rows:
        account.pool = pool  # one Pool object for the request, as the check saw it
    return pool, {account.accountid: account for account in rows}


def pool_credentials_check(*, login: str, password: str, address: str) -> Pool:
    """The active pool for ``login``/``password``, counting failures against limits.

    Raises AuthenticationFailed 429 before any password check once the address
    is over its limit, or the login is and this address has failed for it
    (accounts.ratelimit.failures_blocked), else 401 on any mismatch. Every
    password check is counted as a failure before it runs and un-counted when
    it succeeds (accounts.ratelimit.attempt_count), so simultaneous guesses get
    no more checks than the limits allow. Takes the same time whether or not
    the login exists (a hash is always computed).
    """
    return _credentials_check(login=login, password=password, address=address, with_accounts=False)[0]


def _credentials_check(
    *, login: str, password: str, address: str, with_accounts: bool
) -> tuple[Pool, dict[str, Account] | None]:
    """pool_credentials_check's pool, with its accounts when it has any (read with it)."""
    retry_after = failures_blocked(address=address, login=login)
    if retry_after is not None:
        raise AuthenticationFailed(429, "too many failed logins; try again later", retry_after)
    pool, accounts = _pool_by_login(login, with_accounts=with_accounts)
    usable = pool is not None and is_password_usable(pool.password_hash)
    if pool is not None and usable and password_memo_matches(
        login=login, password=password, password_hash=pool.password_hash
    ):
        # Verified against this very hash moments ago (accounts.password_memo): no guess to count.
        return _active(pool), accounts
    # Counted as a failure before the slow check, so that guesses sent together cannot all
    # pass the limits read above (accounts.ratelimit.attempt_count).
    attempt = attempt_count(address=address, login=login)
    if attempt.retry_after is not None:
        raise AuthenticationFailed(429, "too many failed logins; try again later", attempt.retry_after)
    if pool is None or not usable:
        make_password(password)  # same cost as a real check: no timing oracle for logins
        ok = False
    else:
        ok = check_password(password, pool.password_hash, setter=_rehash_setter(pool))
    if not ok:
        logger.info("failed password login from %s", address or "unknown address")
        raise AuthenticationFailed(401, INVALID_CREDENTIALS)
    attempt_succeeded(attempt)
    assert pool is not None
    # The setter may have upgraded the hash: remember what is stored now.
    stored = Pool.objects.filter(pk=pool.pk).values_list("password_hash", flat=True).first() or ""
    password_memo_remember(login=login, password=password, password_hash=stored)
    # The slow check took long enough for the accounts read before it to be re-read after it.
    return _active(pool), None


def _active(pool: Pool) -> Pool:
    if not pool.is_active:
        raise AuthenticationFailed(401, "this login is disabled")
    return pool


def _rehash_setter(pool: Pool) -> Callable[[str], None]:
    def setter(raw_password: str) -> None:
        # The hasher or its work factor changed: store the upgraded hash.
        Pool.objects.filter(pk=pool.pk, password_hash=pool.password_hash).update(
            password_hash=make_password(raw_password)
        )

    return setter


def _basic(request: HttpRequest, value: str, *, with_accounts: bool) -> tuple[Pool, dict[str, Account] | None]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise AuthenticationFailed(401, "malformed Basic credentials") from None
    login, colon, password = decoded.partition(":")
    if not colon or not login:
        raise AuthenticationFailed(401, "malformed Basic credentials")
    return _credentials_check(
        login=login, password=password, address=client_address(request), with_accounts=with_accounts
    )


def token_hash(token: str) -> str:
    """How a bearer token is stored: its SHA-256 hex digest."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _bearer(request: HttpRequest, token: str) -> Pool:
    if not token:
        raise AuthenticationFailed(401, "empty Bearer token")
    matches = _TOKEN_BY_HASH(token_hash(token))
    if not matches:
        raise AuthenticationFailed(401, "unknown Bearer token")
    found = matches[0]
    now = timezone.now()
    if found.revoked_at is not None:
        raise AuthenticationFailed(401, "this token was revoked")
    if found.expires_at is not None and found.expires_at <= now:
        raise AuthenticationFailed(401, "this token has expired")
    if not found.pool.is_active:
        raise AuthenticationFailed(401, "this login is disabled")
    _token_touch(token=found, address=client_address(request), now=now)
    return found.pool


def _token_touch(*, token: ApiToken, address: str, now: datetime) -> None:
    """Record last use, at most once a minute per token (one conditional UPDATE)."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_THROTTLE:
        return
    ip = _valid_ip(address)
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_THROTTLE)
    ).update(last_used_at=now, last_used_ip=ip)
    token.last_used_at, token.last_used_ip = now, ip


def _valid_ip(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


# Session cookie ----------------------------------------------------------------


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def base_origin() -> str:
    """The origin (scheme://host[:port]) of BASEURL."""
    parts = urlsplit(settings.BASEURL)
    return f"{parts.scheme}://{parts.netloc}"


def _cookie_allowed(request: HttpRequest) -> bool:
    """Whether a session cookie may authenticate this request.

    Defence in depth against cross-site request forgery on top of SameSite=Lax
    (which still lets sibling subdomains through): a state-changing request
    carrying the cookie must not come from a foreign origin. Requests without
    Origin or Sec-Fetch-Site (non-browser clients) are accepted.
    """
    if request.method in _SAFE_METHODS:
        return True
    origin = request.headers.get("Origin")
    if origin and origin != base_origin():
        return False
    return request.headers.get("Sec-Fetch-Site", "same-origin") in {"same-origin", "none"}


def _session_auth_digest(pool: Pool) -> str:
    return salted_hmac("accounts.auth.session", pool.password_hash, algorithm="sha256").hexdigest()


def _request_session(request: HttpRequest) -> SessionBase | None:
    session = getattr(request, "session", None)
    if session is not None:
        return session
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return None
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    return store(session_key=key)


def _session_pool(session: SessionBase | None) -> Pool | None:
    if session is None:
        return None
    pool_id = session.get(SESSION_POOL_KEY)
    if pool_id is None:
        return None
    pool = Pool.objects.filter(pk=pool_id, is_active=True).first()
    if pool is None:
        return None
    if not constant_time_compare(str(session.get(SESSION_AUTH_KEY, "")), _session_auth_digest(pool)):
        return None
    return pool


def session_login(*, request: HttpRequest, pool: Pool) -> None:
    """Bind the request's session to ``pool`` under a fresh session key (no fixation)."""
    request.session.cycle_key()
    request.session[SESSION_POOL_KEY] = pool.pk
    request.session[SESSION_AUTH_KEY] = _session_auth_digest(pool)


def session_logout(*, request: HttpRequest) -> None:
    """Forget the session entirely (data and key)."""
    request.session.flush()
