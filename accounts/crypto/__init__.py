"""Credential encryption at rest (DESIGN.md, "Security").

Two schemes sit behind accounts.secrets:

- ``enc1:`` (accounts.crypto.aesgcm): AES-256-GCM with a key derived from
  JMAP_SECRET_KEY, for a single server;
- ``vault:`` (accounts.crypto.vault): OpenBao/Vault Transit, where the key never
  leaves OpenBao and the proxy only ever stores ciphertexts.

Both read their configuration from ``django.conf.settings.ENV`` at call time (not
at import), so tests can switch schemes with ``override_settings(ENV=...)``.

Errors raised here never carry a plaintext secret or a key: their messages name
the missing setting or the failed operation only, so they are safe to log.
"""
from __future__ import annotations

from dataclasses import dataclass


class CryptoError(Exception):
    """Base class: a secret could not be sealed or unsealed."""


class SecretUnavailable(CryptoError):
    """The configuration needed to read or write a secret is missing or rejected.

    The message names what is missing (e.g. ``JMAP_SECRET_KEY``) and never the
    secret itself.
    """


class SecretCorrupt(CryptoError):
    """A stored value is malformed, was tampered with, or was sealed with another key."""


class VaultAuthError(SecretUnavailable):
    """OpenBao refused our credentials (expired/revoked token, wrong AppRole)."""


@dataclass(frozen=True)
class Opened:
    """A decrypted value, and whether it was stored in the current form
    (primary key and, when asked for, the expected associated data)."""

    plaintext: str
    current: bool

    def __repr__(self) -> str:  # never show the plaintext
        return f"Opened(current={self.current})"



__all__ = ["CryptoError", "Opened", "SecretCorrupt", "SecretUnavailable", "VaultAuthError"]
