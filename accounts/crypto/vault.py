"""The ``vault:`` scheme: OpenBao/Vault Transit through hvac.

Stored form: the ciphertext exactly as Transit returns it (``vault:v1:...``); the
key never leaves OpenBao. Values are bound to their row and column with Transit's
``associated_data`` (the same bytes as the ``enc1:`` associated data); values
written before that open without it and are reported as not current
(vault_open), so they get re-sealed.

Configuration comes from ``django.conf.settings.ENV`` at call time (so tests can
use ``override_settings(ENV=dataclasses.replace(settings.ENV, openbao_addr=...))``):

- JMAP_OPENBAO_ADDR: the server; setting it makes Transit the active scheme.
- JMAP_OPENBAO_ROLE_ID + JMAP_OPENBAO_SECRET_ID: AppRole login (preferred when
  both are set). When OpenBao rejects our token (expired or revoked: HTTP 403
  "permission denied", or 401), we log in again and retry the call once.
- otherwise JMAP_OPENBAO_TOKEN: a static token. If OpenBao rejects it, there is
  nothing to renew it with, so we raise VaultAuthError naming the variable.
- JMAP_OPENBAO_MOUNT / JMAP_OPENBAO_KEY: the Transit mount and key name.

One authenticated hvac client is cached per process and configuration (the pid
is part of the cache key, so forked Celery workers never share a connection).
Every request has a timeout.
"""
from __future__ import annotations

import base64
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import requests
from django.conf import settings

from accounts.crypto import Opened, SecretCorrupt, SecretUnavailable, VaultAuthError

logger = logging.getLogger(__name__)

PREFIX = "vault:"
TIMEOUT_SECONDS = 10
T = TypeVar("T")


@dataclass(frozen=True)
class VaultConfig:
    """The OpenBao settings in force for one call."""

    addr: str
    token: str
    role_id: str
    secret_id: str
    mount: str
    key: str

    @property
    def uses_approle(self) -> bool:
        return bool(self.role_id and self.secret_id)

    def __repr__(self) -> str:  # never show credentials in tracebacks or logs
        auth = "approle" if self.uses_approle else "token" if self.token else "none"
        return f"VaultConfig(addr={self.addr!r}, auth={auth}, mount={self.mount!r}, key={self.key!r})"


def vault_config() -> VaultConfig | None:
    """The current OpenBao configuration, or None when JMAP_OPENBAO_ADDR is unset."""
    env = settings.ENV
    if not env.openbao_addr:
        return None
    return VaultConfig(
        addr=env.openbao_addr.rstrip("/"),
        token=env.openbao_token,
        role_id=env.openbao_role_id,
        secret_id=env.openbao_secret_id,
        mount=env.openbao_mount,
        key=env.openbao_key,
    )


def vault_configured() -> bool:
    return vault_config() is not None


class _VaultSession:
    """One hvac client plus what is needed to re-authenticate it."""

    def __init__(self, config: VaultConfig) -> None:
        self.config = config
        self.client = hvac.Client(url=config.addr, timeout=TIMEOUT_SECONDS)
        self.lock = threading.Lock()
        self.generation = 0
        if config.uses_approle:
            self._approle_login()
        elif config.token:
            self.client.token = config.token
        else:
            raise SecretUnavailable(
                "JMAP_OPENBAO_ADDR is set but neither JMAP_OPENBAO_TOKEN nor "
                "JMAP_OPENBAO_ROLE_ID and JMAP_OPENBAO_SECRET_ID are"
            )

    def _approle_login(self) -> None:
        try:
            self.client.auth.approle.login(role_id=self.config.role_id, secret_id=self.config.secret_id)
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized, hvac.exceptions.InvalidRequest) as exc:
            raise VaultAuthError(
                f"OpenBao at {self.config.addr} refused the AppRole login "
                f"(JMAP_OPENBAO_ROLE_ID/JMAP_OPENBAO_SECRET_ID): {_errors(exc)}"
            ) from None
        except requests.RequestException as exc:
            raise SecretUnavailable(f"OpenBao at {self.config.addr} is unreachable: {type(exc).__name__}") from None
        self.generation += 1

    def relogin(self, seen_generation: int) -> None:
        """Log in again unless another thread already did since ``seen_generation``."""
        with self.lock:
            if self.generation == seen_generation:
                logger.info("OpenBao rejected our token; logging in again with AppRole")
                self._approle_login()

    def call(self, operation: Callable[[hvac.Client], T]) -> T:
        """Run ``operation``; on a rejected token, re-login (AppRole) and retry once."""
        generation = self.generation
        try:
            return operation(self.client)
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized) as exc:
            if not self.config.uses_approle:
                raise VaultAuthError(
                    f"OpenBao at {self.config.addr} rejected the static token JMAP_OPENBAO_TOKEN "
                    f"({_errors(exc)}): it has expired, was revoked, or lacks permission on "
                    f"{self.config.mount}/encrypt|decrypt/{self.config.key}. Renew it, or configure "
                    "AppRole (JMAP_OPENBAO_ROLE_ID and JMAP_OPENBAO_SECRET_ID) so the proxy can log in again"
                ) from None
        self.relogin(generation)
        try:
            return operation(self.client)
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized) as exc:
            raise VaultAuthError(
                f"OpenBao at {self.config.addr} denied the AppRole token on "
                f"{self.config.mount}/{self.config.key} even after a fresh login ({_errors(exc)}); "
                "check the role's policy"
            ) from None


def _errors(exc: hvac.exceptions.VaultError) -> str:
    # hvac's str() also includes the URL; the server's own error list is enough.
    return "; ".join(exc.errors or []) or type(exc).__name__


_sessions: dict[tuple[int, VaultConfig], _VaultSession] = {}
_sessions_lock = threading.Lock()


def _session(config: VaultConfig) -> _VaultSession:
    cache_key = (os.getpid(), config)
    with _sessions_lock:
        found = _sessions.get(cache_key)
        if found is None:
            found = _VaultSession(config)
            _sessions[cache_key] = found
        return found


def _require_config() -> VaultConfig:
    config = vault_config()
    if config is None:
        raise SecretUnavailable(
            "this value is encrypted with OpenBao Transit (vault:) but JMAP_OPENBAO_ADDR is not set"
        )
    return config


def _run(config: VaultConfig, operation: Callable[[hvac.Client], dict[str, Any]], what: str) -> dict[str, Any]:
    try:
        return _session(config).call(operation)
    except requests.RequestException as exc:
        raise SecretUnavailable(
            f"OpenBao at {config.addr} is unreachable during {what}: {type(exc).__name__}"
        ) from None
    except (hvac.exceptions.InvalidRequest, hvac.exceptions.InvalidPath) as exc:
        # Transit answers 400 "encryption key not found" for a missing key (404 for
        # a missing mount): a configuration problem, not a damaged value.
        if isinstance(exc, hvac.exceptions.InvalidPath) or "not found" in _errors(exc):
            raise SecretUnavailable(
                f"OpenBao has no Transit key {config.key!r} under mount {config.mount!r} "
                f"(JMAP_OPENBAO_MOUNT/JMAP_OPENBAO_KEY): {_errors(exc)}"
            ) from None
        raise SecretCorrupt(f"OpenBao refused to {what}: {_errors(exc)}") from None
    except hvac.exceptions.VaultError as exc:
        raise SecretUnavailable(f"OpenBao failed to {what}: {type(exc).__name__}: {_errors(exc)}") from None


def _context(aad: bytes | None) -> dict[str, str]:
    # Transit's associated_data (AEAD key types such as aes256-gcm96) works with
    # ordinary, non-derived keys, unlike `context`, which needs a derived key that
    # an existing installation's key cannot become. A server too old to know the
    # parameter ignores it: values are then simply not bound.
    return {} if aad is None else {"associated_data": base64.b64encode(aad).decode("ascii")}


def vault_encrypt(*, plaintext: str, aad: bytes | None = None) -> str:
    """Seal ``plaintext`` with Transit; returns ``vault:vN:...`` as OpenBao produced it.

    ``aad`` (the row and column the value belongs to) is authenticated with it.
    """
    config = _require_config()
    encoded = base64.b64encode(plaintext.encode("utf-8")).decode("ascii")

    def encrypt(client: hvac.Client) -> dict[str, Any]:
        return client.secrets.transit.encrypt_data(
            name=config.key, plaintext=encoded, mount_point=config.mount, **_context(aad)
        )

    response = _run(config, encrypt, "encrypt")
    ciphertext = response["data"]["ciphertext"]
    if not isinstance(ciphertext, str) or not ciphertext.startswith(PREFIX):
        raise SecretUnavailable("OpenBao returned an unexpected Transit ciphertext")
    return ciphertext


def _decrypt(config: VaultConfig, stored: str, aad: bytes | None) -> str:
    def decrypt(client: hvac.Client) -> dict[str, Any]:
        return client.secrets.transit.decrypt_data(
            name=config.key, ciphertext=stored, mount_point=config.mount, **_context(aad)
        )

    response = _run(config, decrypt, "decrypt")
    try:
        return base64.b64decode(response["data"]["plaintext"]).decode("utf-8")
    except (KeyError, TypeError, ValueError):
        raise SecretCorrupt("OpenBao returned a plaintext that is not base64 UTF-8 text") from None


def vault_open(*, stored: str, aad: bytes | None, legacy: bool = True) -> Opened:
    """Open a ``vault:`` value; ``current`` is False when it opened only without
    ``aad`` (written before values were bound to their row), so it can be re-sealed.
    With ``legacy`` False only the bound form is accepted.

    Raises SecretCorrupt when neither opens it (another row's value, or damaged).
    """
    if not stored.startswith(PREFIX):
        raise SecretCorrupt("not a vault: value")
    config = _require_config()
    if aad is None:
        return Opened(plaintext=_decrypt(config, stored, None), current=True)
    try:
        return Opened(plaintext=_decrypt(config, stored, aad), current=True)
    except SecretCorrupt:
        if not legacy:
            raise SecretCorrupt(
                "vault: value failed authentication: it belongs to another account or field, or was altered"
            ) from None
    try:
        return Opened(plaintext=_decrypt(config, stored, None), current=False)
    except SecretCorrupt:
        raise SecretCorrupt(
            "vault: value failed authentication: it belongs to another account or field, or was altered"
        ) from None


def vault_decrypt(*, stored: str, aad: bytes | None = None) -> str:
    """Open a ``vault:`` value with Transit (see vault_open)."""
    return vault_open(stored=stored, aad=aad).plaintext


def vault_forget_clients() -> None:
    """Drop cached clients (tests; or after rotating AppRole credentials in-process)."""
    with _sessions_lock:
        _sessions.clear()
