"""Seal and unseal backend credentials (DESIGN.md, "Security").

A stored secret is in one of three forms, and all three may coexist in the
database at once:

- plaintext (no prefix) -- written while no encryption is configured;
- ``enc1:...`` -- AES-256-GCM with JMAP_SECRET_KEY (accounts.crypto.aesgcm);
- ``vault:...`` -- OpenBao/Vault Transit (accounts.crypto.vault).

The *active* scheme, used by seal(), is Transit when JMAP_OPENBAO_ADDR is set,
else ``enc1:`` when JMAP_SECRET_KEY is set, else plaintext. unseal() reads every
form as long as the setting it needs is present, so JMAP_SECRET_KEY must stay set
while ``enc1:`` values remain after a move to OpenBao.

The empty string means "no secret" and is stored as is under every scheme.

Limitation: in plaintext mode a password that itself begins with ``enc1:`` or
``vault:`` would later be read as a sealed value; configure encryption to avoid
the ambiguity.

Settings are read from ``django.conf.settings.ENV`` at call time, so tests may use
``override_settings(ENV=dataclasses.replace(settings.ENV, secret_key=...))``.
"""
from __future__ import annotations

from enum import StrEnum

from accounts.crypto import CryptoError, SecretCorrupt, SecretUnavailable, VaultAuthError, aesgcm, vault

__all__ = [
    "CryptoError",
    "Scheme",
    "SecretCorrupt",
    "SecretUnavailable",
    "VaultAuthError",
    "active_scheme",
    "needs_reseal",
    "seal",
    "stored_scheme",
    "unseal",
]


class Scheme(StrEnum):
    PLAIN = "plain"
    ENC1 = "enc1"
    VAULT = "vault"


def active_scheme() -> Scheme:
    """The scheme seal() uses under the current settings."""
    if vault.vault_configured():
        return Scheme.VAULT
    if aesgcm.aesgcm_configured():
        return Scheme.ENC1
    return Scheme.PLAIN


def stored_scheme(stored: str) -> Scheme:
    """The scheme a stored value was written with, judged by its prefix."""
    if stored.startswith(aesgcm.PREFIX):
        return Scheme.ENC1
    if stored.startswith(vault.PREFIX):
        return Scheme.VAULT
    return Scheme.PLAIN


def seal(plaintext: str) -> str:
    """The stored form of ``plaintext`` under the active scheme ("" stays "")."""
    if plaintext == "":
        return ""
    scheme = active_scheme()
    if scheme is Scheme.VAULT:
        return vault.vault_encrypt(plaintext=plaintext)
    if scheme is Scheme.ENC1:
        return aesgcm.aesgcm_encrypt(plaintext=plaintext)
    return plaintext


def unseal(stored: str) -> str:
    """The plaintext of a stored value in any of the three forms.

    Raises SecretUnavailable (naming the missing setting) when the value needs a
    key that is not configured, SecretCorrupt when it fails to decrypt.
    """
    scheme = stored_scheme(stored)
    if scheme is Scheme.ENC1:
        return aesgcm.aesgcm_decrypt(stored=stored)
    if scheme is Scheme.VAULT:
        return vault.vault_decrypt(stored=stored)
    return stored


def needs_reseal(stored: str) -> bool:
    """True when ``stored`` is not in the active scheme and should be re-sealed."""
    if stored == "":
        return False
    return stored_scheme(stored) is not active_scheme()
