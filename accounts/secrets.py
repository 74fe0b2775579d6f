"""Seal and unseal backend credentials (DESIGN.md, "Security").

A stored secret is in one of three forms, and all three may coexist in the
database at once:

- plaintext (no prefix) -- written by versions that stored credentials in the
  clear when no key was configured; still read, re-sealed on the next write or sync;
- ``enc1:...`` -- AES-256-GCM (accounts.crypto.aesgcm) with JMAP_SECRET_KEY, or,
  when neither it nor OpenBao is configured, with the key generated in
  $JMAP_DATADIR (accounts.crypto.keys);
- ``vault:...`` -- OpenBao/Vault Transit (accounts.crypto.vault).

The *active* scheme, used by seal(), is Transit when JMAP_OPENBAO_ADDR is set,
else ``enc1:``: credentials are always encrypted. unseal() reads every form as
long as the key it needs is present, so JMAP_SECRET_KEY must stay set while
``enc1:`` values remain after a move to OpenBao.

Binding: a SecretBinding (account and column) is authenticated as associated
data with the value, so a value copied into another row or column fails to open
instead of handing one account's credential to another. Values sealed without a
binding (older versions, or callers that pass none) still open; needs_reseal()
reports them so they are re-sealed bound. Once ``manage.py reencrypt`` has bound
every value, values without their binding are refused (keys.unbound_values_refused):
a value from an old backup copied into another row no longer opens either. unseal() takes the binding from its
argument, else from the value itself when it was read from an Account
(accounts.secret_column.StoredSecret carries its row and column).

The empty string means "no secret" and is stored as is under every scheme.

Limitation: a legacy plaintext password that itself begins with ``enc1:`` or
``vault:`` is read as a sealed value.

Settings are read from ``django.conf.settings.ENV`` at call time, so tests may use
``override_settings(ENV=dataclasses.replace(settings.ENV, secret_key=...))``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum

from accounts.crypto import CryptoError, Opened, SecretCorrupt, SecretUnavailable, VaultAuthError, aesgcm, vault
from accounts.crypto.keys import aesgcm_keyring, unbound_values_refused

__all__ = [
    "CryptoError",
    "Scheme",
    "SecretBinding",
    "SecretCorrupt",
    "SecretUnavailable",
    "VaultAuthError",
    "active_scheme",
    "needs_reseal",
    "seal",
    "secret_open",
    "stored_scheme",
    "unseal",
]


class Scheme(StrEnum):
    PLAIN = "plain"
    ENC1 = "enc1"
    VAULT = "vault"


@dataclass(frozen=True)
class SecretBinding:
    """The row and column a stored secret belongs to.

    ``accountid`` (not the primary key) names the row: it is known before the
    row is first inserted and never changes (neither the management API nor the
    dashboard can rename an account).
    """

    accountid: str
    field: str

    @property
    def aad(self) -> bytes:
        """The associated data: a fixed label, then the two names NUL-separated
        (neither may contain NUL, so distinct bindings never give equal bytes)."""
        return b"jmap-proxy credential v1\x00" + self.accountid.encode() + b"\x00" + self.field.encode()


def active_scheme() -> Scheme:
    """The scheme seal() uses under the current settings (never PLAIN any more)."""
    if vault.vault_configured():
        return Scheme.VAULT
    return Scheme.ENC1


def stored_scheme(stored: str) -> Scheme:
    """The scheme a stored value was written with, judged by its prefix."""
    if stored.startswith(aesgcm.PREFIX):
        return Scheme.ENC1
    if stored.startswith(vault.PREFIX):
        return Scheme.VAULT
    return Scheme.PLAIN


def _binding_of(stored: str, binding: SecretBinding | None) -> SecretBinding | None:
    if binding is not None:
        return binding
    found = getattr(stored, "binding", None)
    return found if isinstance(found, SecretBinding) else None


def seal(plaintext: str, *, binding: SecretBinding | None = None) -> str:
    """The stored form of ``plaintext`` under the active scheme ("" stays "").

    With ``binding``, the value opens only for that account and column.
    """
    if plaintext == "":
        return ""
    aad = binding.aad if binding is not None else None
    if active_scheme() is Scheme.VAULT:
        return vault.vault_encrypt(plaintext=plaintext, aad=aad)
    return aesgcm.aesgcm_encrypt(plaintext=plaintext, aad=aad)


def secret_open(stored: str, *, binding: SecretBinding | None = None) -> Opened:
    """The plaintext of a stored value in any form, and whether that form is
    current: active scheme, active key and (when a binding is known) bound.

    Raises SecretUnavailable (naming the missing setting) when the value needs a
    key that is not configured, SecretCorrupt when it fails to decrypt -- also
    when it belongs to another account or column.
    """
    binding = _binding_of(stored, binding)
    aad = binding.aad if binding is not None else None
    scheme = stored_scheme(stored)
    if scheme is Scheme.PLAIN:
        return Opened(plaintext=str(stored), current=stored == "")
    opener = aesgcm.aesgcm_open if scheme is Scheme.ENC1 else vault.vault_open
    try:
        # The bound form first; the older forms only while they may still exist.
        opened = opener(stored=str(stored), aad=aad, legacy=aad is None)
    except SecretCorrupt:
        if aad is None:
            raise
        if unbound_values_refused():
            raise SecretCorrupt(
                f"{scheme.value}: value failed authentication: it belongs to another account or field, "
                "was altered, or was sealed with another key (values without their binding are refused "
                "since `manage.py reencrypt` bound them all)"
            ) from None
        opened = opener(stored=str(stored), aad=aad, legacy=True)
    return Opened(plaintext=opened.plaintext, current=opened.current and scheme is active_scheme())


def unseal(stored: str, *, binding: SecretBinding | None = None) -> str:
    """The plaintext of a stored value in any of the three forms (see secret_open)."""
    if stored == "":
        return ""
    return secret_open(stored, binding=binding).plaintext


# (stored value, binding, key identity) known to be in the current form. Sync
# asks needs_reseal() for every account every few seconds; for vault: values
# the answer costs a Transit round trip, so it is remembered per process.
_current_forms: set[tuple[str, SecretBinding, str]] = set()
_current_forms_lock = threading.Lock()
_CURRENT_FORMS_MAX = 50_000


def _key_identity(scheme: Scheme) -> str:
    if scheme is Scheme.VAULT:
        config = vault.vault_config()
        return f"vault:{config.addr}/{config.mount}/{config.key}" if config else "vault:-"
    return "enc1:" + aesgcm_keyring().fingerprint


def needs_reseal(stored: str, *, binding: SecretBinding | None = None) -> bool:
    """True when ``stored`` should be re-sealed: not in the active scheme, or --
    when a binding is known -- sealed without it or with an older key.

    Without a binding only the scheme is compared (no decryption). With one, the
    value is opened (raising like secret_open when it cannot be).
    """
    if stored == "":
        return False
    scheme = stored_scheme(stored)
    if scheme is not active_scheme():
        return True
    binding = _binding_of(stored, binding)
    if binding is None:
        return False
    remembered = (str(stored), binding, _key_identity(scheme))
    with _current_forms_lock:
        if remembered in _current_forms:
            return False
    if not secret_open(stored, binding=binding).current:
        return True
    with _current_forms_lock:
        if len(_current_forms) >= _CURRENT_FORMS_MAX:
            _current_forms.clear()
        _current_forms.add(remembered)
    return False
