"""RFC 9698 JMAPACCESS: an IMAP server that says where the same mail is served by JMAP.

A server advertising the JMAPACCESS capability (RFC 9698 §3) serves the
messages of its IMAP mailstore through JMAP as well, to the same credentials,
and answers the GETJMAPACCESS command (valid once authenticated, §4) with an
untagged `JMAPACCESS <url>` response naming its JMAP Session resource
(RFC 8620 §2). No packaged server implements it yet (Dovecot 2.3 and Cyrus
3.6 do not); the proxy is ready for the first that does.

- jmap_access_note() runs in the IMAP sync right after CAPABILITY (at no cost
  when the capability is absent, beyond dropping an offer the server no
  longer makes): when JMAPACCESS is advertised and the URL is unknown or
  older than RELEARN_SECONDS, it sends GETJMAPACCESS and stores the URL as
  the account's JmapAccessOffer (backends.models), which the management API
  shows as "jmapAccess": {"sessionUrl": ..., "offered": true}. A failure here
  never fails the mail sync.
- The sync part "jmapaccess" (accounts.sync.sync_part_register) runs after
  the mail sync when JMAP_SWITCH_TO_JMAPACCESS is set and an offer is
  pending: jmap_access_switch() fetches the upstream Session with the
  account's own username and password (Basic, RFC 7617), checks that it
  serves mail (and calendars, contacts, submission where the account has
  CalDAV, CardDAV, SMTP today, so that nothing the client sees is lost), and
  only then turns the account into a passthrough account: kind "jmap", the
  announced sessionUrl, authType basic, the same credentials and the same
  accountid (the upstream's primary account keeps it,
  backends.jmap.session_store). A refusal is recorded on the offer and in
  the part's sync_progress entry; the account stays IMAP.

What is accepted as a URL: an absolute https URL; http only when the IMAP
connection itself is unencrypted (the operator already sends the password in
clear to that server). A URL at a loopback, private or link-local address is
accepted only from an IMAP server at such an address itself, so a server on
the Internet cannot steer the proxy's credentials into its own network.
"""
from __future__ import annotations

import imaplib
import ipaddress
import logging
import socket
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.response_parser import parse_response

from accounts.models import Account, SslMode
from accounts.sync import AccountSyncLock, SyncPartSkipped, sync_part_register
from backends.base import BackendError
from backends.imap.connection import KIND, server_text
from backends.imap.sync_commands import Capabilities

log = logging.getLogger("jmap.sync.imap.jmapaccess")

CAPABILITY = "JMAPACCESS"
COMMAND = "GETJMAPACCESS"
PART = "jmapaccess"
# A server may move its JMAP service; the URL is asked for again after a day.
RELEARN_SECONDS = 24 * 3600
URL_MAX = 1024
MAIL = "urn:ietf:params:jmap:mail"
# What an IMAP account's other parts need from the upstream to lose nothing when switched.
PART_CAPABILITIES: tuple[tuple[str, str, str], ...] = (
    ("smtp_host", "urn:ietf:params:jmap:submission", "sending (SMTP)"),
    ("caldav_url", "urn:ietf:params:jmap:calendars", "calendars (CalDAV)"),
    ("carddav_url", "urn:ietf:params:jmap:contacts", "contacts (CardDAV)"),
)

# imaplib refuses commands it does not know; RFC 9698 §4: authenticated and selected states.
imaplib.Commands.setdefault(COMMAND, ("AUTH", "SELECTED"))


class JmapAccessRefused(BackendError):
    """The announced URL or its upstream is not usable; the account stays as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True, kind=KIND)


# ---------------------------------------------------------------- the command


def _url_of(value: Any) -> str | None:
    """The URL in one untagged JMAPACCESS response's data (a quoted string or a literal)."""
    if isinstance(value, tuple):  # a literal: (b'JMAPACCESS {n}', b'url')
        raw = value[1] if len(value) > 1 else b""
    else:
        try:
            parsed = parse_response([value if isinstance(value, bytes) else str(value).encode()])
        except Exception:
            return None
        if len(parsed) != 1:
            return None
        raw = parsed[0]
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return raw if isinstance(raw, str) else None


def jmap_access_get(*, client: IMAPClient) -> str:
    """Send GETJMAPACCESS (RFC 9698 §4); the URL of the untagged JMAPACCESS response.

    Raises BackendError when the server refuses the command or answers
    without exactly one usable JMAPACCESS response.
    """
    imap = client._imap
    imap.untagged_responses.pop(CAPABILITY, None)
    try:
        typ, data = imap._simple_command(COMMAND)
    except imaplib.IMAP4.abort as exc:
        raise BackendError(f"{COMMAND}: connection dropped: {server_text(exc)}", permanent=False, kind=KIND) from None
    except imaplib.IMAP4.error as exc:
        raise BackendError(f"{COMMAND} refused: {server_text(exc)}", permanent=True, kind=KIND) from None
    answers = list(imap.untagged_responses.pop(CAPABILITY, []))
    if typ != "OK":
        raise BackendError(f"{COMMAND} refused: {server_text(Exception(data))}", permanent=True, kind=KIND)
    urls = [url for url in (_url_of(answer) for answer in answers) if url]
    if len(urls) != 1:
        raise BackendError(f"{COMMAND} answered {len(urls)} JMAPACCESS URLs instead of one", permanent=True,
                           kind=KIND)  # fmt: skip
    return urls[0]


# ---------------------------------------------------------------- what is acceptable


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    found = []
    for info in infos:
        try:
            found.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        except ValueError:
            continue
    return found


def _internal(host: str) -> bool:
    """True when `host` is (or resolves to) a loopback, private, link-local or unspecified address."""
    return any(
        address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified
        for address in _addresses(host)
    )


def jmap_access_url_check(url: str, *, account: Account) -> str:
    """`url` if the proxy may use it for `account` (module doc); JmapAccessRefused otherwise."""
    if not url or len(url) > URL_MAX or any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise JmapAccessRefused("the JMAPACCESS URL is empty, too long or has blanks or control characters")
    parts = urlsplit(url)
    plain_imap = int(account.imap_ssl) in (SslMode.PLAIN, SslMode.PLAIN_ALIAS)
    allowed = ("https", "http") if plain_imap else ("https",)
    if parts.scheme not in allowed or not parts.hostname or parts.username or parts.password or parts.fragment:
        raise JmapAccessRefused(f"the JMAPACCESS URL is not an absolute {'/'.join(allowed)} URL without user info")
    if _internal(parts.hostname) and not _internal(account.imap_host):
        raise JmapAccessRefused("the JMAPACCESS URL leads to an internal address, the IMAP server is not internal")
    return url


# ---------------------------------------------------------------- learning the URL (in the IMAP sync)


def jmap_access_note(*, account: Account, client: IMAPClient, caps: Capabilities) -> None:
    """Learn or forget the account's JMAPACCESS URL (module doc); never raises."""
    from backends.models import JmapAccessOffer

    try:
        if not caps.has(CAPABILITY):
            JmapAccessOffer.objects.filter(account_id=account.pk, switched_at__isnull=True).delete()
            return
        offer = JmapAccessOffer.objects.filter(account_id=account.pk).first()
        now = timezone.now()
        if offer is not None and offer.learned_at > now - timedelta(seconds=RELEARN_SECONDS):
            return
        url = jmap_access_url_check(jmap_access_get(client=client), account=account)
    except BackendError as exc:
        log.warning("account %s: %s: %s", account.accountid, CAPABILITY, exc.message)
        return
    except Exception:
        log.exception("account %s: %s: could not learn the JMAP URL", account.accountid, CAPABILITY)
        return
    values: dict[str, Any] = {"session_url": url, "learned_at": now}
    if offer is None or offer.session_url != url:
        values.update(switch_error="", switch_error_at=None)
        log.info("account %s: the IMAP server offers JMAP at %s (RFC 9698)", account.accountid, url)
    JmapAccessOffer.objects.update_or_create(account_id=account.pk, defaults=values)


def jmap_access_describe(*, account: Account) -> dict[str, Any] | None:
    """The management API's "jmapAccess" of an account: None when its server made no offer."""
    from backends.models import JmapAccessOffer

    offer = JmapAccessOffer.objects.filter(account_id=account.pk).first()
    if offer is None:
        return None
    return {
        "sessionUrl": offer.session_url,
        "offered": offer.switched_at is None and account.kind == Account.Kind.IMAP,
        "learnedAt": offer.learned_at.isoformat(),
        "switchedAt": offer.switched_at.isoformat() if offer.switched_at else None,
        "switchError": offer.switch_error,
    }


# ---------------------------------------------------------------- the switch


def _switch_refused(account: Account, message: str) -> JmapAccessRefused:
    from backends.models import JmapAccessOffer

    JmapAccessOffer.objects.filter(account_id=account.pk).update(switch_error=message,
                                                                 switch_error_at=timezone.now())  # fmt: skip
    return JmapAccessRefused(message)


def jmap_access_switch(*, account: Account) -> None:
    """Turn `account` into a passthrough account at its JMAPACCESS URL (module doc).

    Raises JmapAccessRefused (recorded on the offer) when the upstream Session
    cannot be fetched with the account's credentials or lacks what the account
    uses today; BackendError (transient) when the upstream cannot be reached now.
    """
    from accounts.secret_fields import account_secret_get
    from backends.jmap.session_check import jmap_session_fetch
    from backends.models import JmapAccessOffer

    offer = JmapAccessOffer.objects.filter(account_id=account.pk, switched_at__isnull=True).first()
    if offer is None or account.kind != Account.Kind.IMAP:
        raise SyncPartSkipped()
    try:
        url = jmap_access_url_check(offer.session_url, account=account)
    except JmapAccessRefused as exc:
        raise _switch_refused(account, exc.message) from None
    if not account.password:
        raise _switch_refused(account, "no password stored to log in to the JMAP server with")
    username = account.username or account.email
    password = account_secret_get(account=account, field="password")
    try:
        session = jmap_session_fetch(session_url=url, username=username, password=password, auth_type="basic")
    except BackendError as exc:
        if not exc.permanent:
            raise
        raise _switch_refused(account, f"the JMAP server refused: {exc.message}") from None
    primary = session.get("primaryAccounts", {}).get(MAIL) if isinstance(session.get("primaryAccounts"), dict) else None
    accounts = session["accounts"]
    if not isinstance(primary, str) or primary not in accounts:
        raise _switch_refused(account, "the JMAP server's Session has no primary mail account")
    capabilities = session["capabilities"]
    missing = [what for field, capability, what in PART_CAPABILITIES
               if getattr(account, field) and capability not in capabilities]  # fmt: skip
    if missing:
        raise _switch_refused(account, "the JMAP server does not serve " + ", ".join(missing) + " of this account")
    with transaction.atomic():
        locked = Account.objects.select_for_update().filter(pk=account.pk, kind=Account.Kind.IMAP).first()
        if locked is None:
            raise SyncPartSkipped()
        Account.objects.filter(pk=account.pk).update(
            kind=Account.Kind.JMAP, session_url=url, auth_type=Account.AuthType.BASIC, upstream_session={},
            updated_at=timezone.now(),
        )  # fmt: skip
        JmapAccessOffer.objects.filter(pk=offer.pk).update(switched_at=timezone.now(), switch_error="",
                                                           switch_error_at=None)  # fmt: skip
    account.refresh_from_db()
    log.warning("account %s: switched to JMAP passthrough at %s (RFC 9698 JMAPACCESS)", account.accountid, url)
    try:
        # The upstream accounts and their proxy ids now, rather than at the first request.
        from backends.jmap.client import upstream_client

        upstream_client(account).session_refresh()
    except BackendError as exc:
        log.warning("account %s: upstream Session not stored yet (the next sync retries): %s",
                    account.accountid, exc)  # fmt: skip


# ---------------------------------------------------------------- the sync part


def _part_applies(account: Account) -> bool:
    from backends.models import JmapAccessOffer

    if not settings.JMAP_SWITCH_TO_JMAPACCESS or account.kind != Account.Kind.IMAP:
        return False
    return JmapAccessOffer.objects.filter(account_id=account.pk, switched_at__isnull=True).exists()


def _part_run(*, account: Account, lock: AccountSyncLock | None) -> None:
    jmap_access_switch(account=account)


sync_part_register(name=PART, applies=_part_applies, run=_part_run)
