"""Storing a passthrough account's upstream Session and its upstream accounts.

upstream_session_refresh() fetches the upstream Session (RFC 8620 §2) with the
account's credentials and upstream_session_store() records it:
Account.upstream_session holds the Session with absolute URLs, and there is
one UpstreamAccount row per account in its "accounts" -- every one the
credentials see (shared ones too), not only the primary.

Proxy accountIds (accounts.models.UpstreamAccount):
- an upstream account that stays keeps its proxy id, whatever else changes;
- a new one gets, in order of preference, the Account's own accountid if it
  is the upstream's primary account (primaryAccounts of
  urn:ietf:params:jmap:mail, else of core, else the first account) and that
  id is free; else `<accountid>-<upstream id>` when that is a valid JMAP Id
  (RFC 8620 §1.2, at most 255 characters of [A-Za-z0-9_-]) and free; else
  `<accountid>-<first 16 hex digits of sha256(upstream id)>`; `-2`, `-3`, ...
  appended while the candidate is taken;
- "free" means no other Account has it as accountid and no other
  UpstreamAccount row has it as proxy_id, so the ids of a pool's Session
  never collide. An upstream account that comes back after it was gone gets
  the same id again when it is still free (the candidates are deterministic).

Each row keeps the upstream's name, isPersonal and isReadOnly (read-only also
when the Account itself is) and its accountCapabilities filtered by
backends.jmap.capabilities. An upstream id longer than 255 characters is not
a JMAP Id and is left out, and so is every account after the first
UPSTREAM_ACCOUNTS_MAX (primaries first): a hostile Session cannot make every
request of the pool pay for a hundred thousand accounts.
"""
from __future__ import annotations

import hashlib
import logging
import re
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from accounts.models import Account, UpstreamAccount
from backends.jmap.capabilities import capabilities_filter

if TYPE_CHECKING:
    from backends.jmap.client import UpstreamClient

log = logging.getLogger("jmap.backends.jmap")

MAIL_CAPABILITY = "urn:ietf:params:jmap:mail"
CORE_CAPABILITY = "urn:ietf:params:jmap:core"
PROXY_ID_MAX = 255
NAME_MAX = 255
# At most this many upstream accounts per passthrough Account (primaries first):
# each becomes a row, a Session entry and part of every request's sessionState,
# so a hostile Session listing 100,000 accounts must not cost that much per request.
UPSTREAM_ACCOUNTS_MAX = 1000
UPSTREAM_ID_MAX = 255  # RFC 8620 §1.2; also the column's width (PostgreSQL refuses longer)
_JMAP_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def jmap_id_valid(value: str) -> bool:
    """RFC 8620 §1.2: 1-255 characters from the URL and filename safe base64 alphabet."""
    return bool(_JMAP_ID.match(value))


def upstream_primary_id(session: dict[str, Any]) -> str | None:
    """The upstream's primary account: of mail, else of core, else the first listed."""
    accounts = session.get("accounts")
    if not isinstance(accounts, dict) or not accounts:
        return None
    primary = session.get("primaryAccounts")
    if isinstance(primary, dict):
        for urn in (MAIL_CAPABILITY, CORE_CAPABILITY):
            candidate = primary.get(urn)
            if isinstance(candidate, str) and candidate in accounts:
                return candidate
    return next(iter(accounts))


def upstream_ids_ordered(session: dict[str, Any]) -> list[str]:
    """The upstream account ids kept, the primary first, then every other primary, then the rest.

    Ids longer than UPSTREAM_ID_MAX are left out, and all after the first
    UPSTREAM_ACCOUNTS_MAX.
    """
    accounts = session.get("accounts")
    if not isinstance(accounts, dict):
        return []
    valid = [upstream_id for upstream_id, value in accounts.items()
             if isinstance(upstream_id, str) and 0 < len(upstream_id) <= UPSTREAM_ID_MAX and isinstance(value, dict)]
    first: list[str] = []
    main = upstream_primary_id(session)
    if main is not None and main in valid:
        first.append(main)
    primary = session.get("primaryAccounts")
    if isinstance(primary, dict):
        for candidate in primary.values():
            if isinstance(candidate, str) and candidate in valid and candidate not in first:
                first.append(candidate)
    chosen = set(first)
    ordered = first + [upstream_id for upstream_id in valid if upstream_id not in chosen]
    if len(ordered) > UPSTREAM_ACCOUNTS_MAX:
        log.warning("upstream Session lists %d accounts; the first %d are kept", len(ordered), UPSTREAM_ACCOUNTS_MAX)
    return ordered[:UPSTREAM_ACCOUNTS_MAX]


def proxy_id_candidates(*, accountid: str, upstream_id: str, primary: bool) -> list[str]:
    """The ids a new upstream account may get, best first (module doc); suffixes come later."""
    candidates: list[str] = [accountid] if primary else []
    joined = f"{accountid}-{upstream_id}"
    if len(joined) <= PROXY_ID_MAX and jmap_id_valid(joined):
        candidates.append(joined)
    candidates.append(f"{accountid}-{hashlib.sha256(upstream_id.encode('utf-8')).hexdigest()[:16]}")
    return candidates


class _ProxyIds:
    """Allocates free proxy ids for one Account's new upstream accounts."""

    def __init__(self, *, account: Account, released: set[int]) -> None:
        self.account = account
        self.released = released  # pks of this Account's rows being deleted
        self.given: set[str] = set()

    def _taken(self, candidate: str) -> bool:
        if candidate in self.given:
            return True
        if candidate != self.account.accountid and Account.objects.filter(accountid=candidate).exists():
            return True
        return UpstreamAccount.objects.filter(proxy_id=candidate).exclude(pk__in=self.released).exists()

    def allocate(self, *, upstream_id: str, primary: bool) -> str:
        candidates = proxy_id_candidates(accountid=self.account.accountid, upstream_id=upstream_id, primary=primary)
        for candidate in candidates:
            if not self._taken(candidate):
                self.given.add(candidate)
                return candidate
        base = candidates[-1]
        number = 2
        while True:
            candidate = f"{base}-{number}"
            if not self._taken(candidate):
                self.given.add(candidate)
                return candidate
            number += 1


def _row_values(*, account: Account, value: dict[str, Any], upstream_id: str, position: int) -> dict[str, Any]:
    name = value.get("name")
    return {
        "name": (name if isinstance(name, str) and name else upstream_id)[:NAME_MAX],
        "is_personal": bool(value.get("isPersonal", True)),
        "is_read_only": bool(value.get("isReadOnly", False)) or bool(account.is_read_only),
        "capabilities": capabilities_filter(value.get("accountCapabilities")),
        "position": position,
    }


def _store(*, account: Account, session: dict[str, Any]) -> None:
    accounts: dict[str, Any] = session.get("accounts") or {}
    ordered = upstream_ids_ordered(session)
    kept = set(ordered)
    main = upstream_primary_id(session)
    with transaction.atomic():
        # Serialise refreshes of one Account (a worker's periodic one and an API
        # call's sessionState one may meet); a no-op on SQLite, which serialises writers.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        existing = {row.upstream_id: row for row in UpstreamAccount.objects.filter(account=account)}
        gone = [row for upstream_id, row in existing.items() if upstream_id not in kept]
        if gone:
            UpstreamAccount.objects.filter(pk__in=[row.pk for row in gone]).delete()
        ids = _ProxyIds(account=account, released={row.pk for row in gone})
        for position, upstream_id in enumerate(ordered):
            values = _row_values(account=account, value=accounts[upstream_id], upstream_id=upstream_id,
                                 position=position)
            row = existing.get(upstream_id)
            if row is None:
                UpstreamAccount.objects.create(
                    account=account, upstream_id=upstream_id,
                    proxy_id=ids.allocate(upstream_id=upstream_id, primary=upstream_id == main), **values,
                )
            elif any(getattr(row, name) != new for name, new in values.items()):
                for name, new in values.items():
                    setattr(row, name, new)
                row.save(update_fields=list(values))
        # Only the accounts kept: the stored Session is read with the Account by every request.
        account.upstream_session = {**session, "accounts": {upstream_id: accounts[upstream_id]
                                                            for upstream_id in ordered}}
        # updated_at too: other processes' cached clients (keyed by it) pick up new URLs.
        account.save(update_fields=["upstream_session", "updated_at"])


def upstream_session_store(*, account: Account, session: dict[str, Any]) -> None:
    """Record `session` (validated, URLs absolute) as `account`'s upstream Session (module doc).

    A concurrent refresh that took an id this one chose makes it start over once.
    """
    try:
        _store(account=account, session=session)
    except IntegrityError:
        log.info("account %s: concurrent upstream Session refresh; storing again", account.accountid)
        _store(account=account, session=session)


def upstream_session_refresh(*, account: Account, client: UpstreamClient | None = None) -> dict[str, Any]:
    """Fetch `account`'s upstream Session with its credentials and store it; returns it.

    Raises backends.jmap.client.UpstreamError (a BackendError) when the fetch
    fails; nothing stored changes then. `client` is the UpstreamClient to
    fetch with (default: a short-lived one for `account`).
    """
    from backends.jmap.client import UpstreamClient

    if account.kind != Account.Kind.JMAP:
        raise ValueError(f"account {account.accountid} is not a passthrough account")
    own = client is None
    fetcher = UpstreamClient(account) if client is None else client
    try:
        session = fetcher.session_fetch()
    finally:
        if own:
            fetcher.close()
    upstream_session_store(account=account, session=session)
    return session
