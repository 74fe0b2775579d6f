"""The ``enc1:`` scheme: AES-256-GCM (product README, "Stored credentials").

Stored form: ``enc1:`` + standard base64 of ``nonce (12 bytes) || ciphertext ||
tag (16 bytes)`` -- exactly what ``cryptography``'s ``AESGCM.encrypt`` returns
appended to the nonce. The shape is unchanged by associated data.

Associated data: callers pass ``aad`` naming the row and column a value belongs
to (accounts.secrets.SecretBinding), so a value copied into another row fails
authentication instead of handing one account's password to another.

Reading values written before binding existed: the format has no version byte,
so aesgcm_open() tries, in order, (primary key, aad) -- the current form --, then
(primary key, no aad), then each legacy key with no aad (the SHA-256 of a
passphrase, before the salted KDF). Whatever path succeeds is reported, so the
caller can re-seal old values in the current form (accounts.secret_fields).

Keys come from accounts.crypto.keys (JMAP_SECRET_KEY, a passphrase through
scrypt, or the key generated in $JMAP_DATADIR), read at call time so tests can
use ``override_settings(ENV=dataclasses.replace(settings.ENV, secret_key=...))``.
"""
from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from accounts.crypto import Opened, SecretCorrupt
from accounts.crypto.keys import AesKeyring, aesgcm_keyring, is_hex_key, legacy_passphrase_key

PREFIX = "enc1:"
NONCE_SIZE = 12
TAG_SIZE = 16


def aesgcm_key_derive(*, secret_key: str) -> bytes:
    """The AES key a JMAP_SECRET_KEY value gives *without* a salt.

    A hex key is its own bytes; for a passphrase this is the legacy SHA-256 key
    (new values use scrypt with the stored salt: accounts.crypto.keys).
    """
    if is_hex_key(secret_key):
        return bytes.fromhex(secret_key)
    return legacy_passphrase_key(passphrase=secret_key)


def aesgcm_encrypt(*, plaintext: str, aad: bytes | None = None, key: bytes | None = None) -> str:
    """Seal ``plaintext`` as an ``enc1:`` value with a fresh random nonce.

    ``key`` defaults to the active key (accounts.crypto.keys.aesgcm_keyring).
    """
    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(key or aesgcm_keyring().primary).encrypt(nonce, plaintext.encode("utf-8"), aad)
    return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def _split(stored: str) -> tuple[bytes, bytes]:
    if not stored.startswith(PREFIX):
        raise SecretCorrupt("not an enc1: value")
    try:
        raw = base64.b64decode(stored[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise SecretCorrupt("enc1: value is not valid base64") from None
    if len(raw) < NONCE_SIZE + TAG_SIZE:
        raise SecretCorrupt("enc1: value is too short to hold a nonce and a tag")
    return raw[:NONCE_SIZE], raw[NONCE_SIZE:]


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretCorrupt("enc1: value does not decrypt to UTF-8 text") from None


def aesgcm_open(
    *, stored: str, aad: bytes | None, keyring: AesKeyring | None = None, legacy: bool = True
) -> Opened:
    """Open an ``enc1:`` value, accepting the pre-binding forms (see module doc)
    unless ``legacy`` is False and ``aad`` is given: then only the current form.

    Raises SecretCorrupt when no path opens it: the value was altered, belongs to
    another row or column, or was sealed with another key. GCM cannot tell these
    apart, so the message names them all and the key source, never the value.
    """
    nonce, body = _split(stored)
    keyring = keyring or aesgcm_keyring()
    attempts: list[tuple[bytes, bytes | None]] = [(keyring.primary, aad)]
    if legacy or aad is None:
        if aad is not None:
            attempts.append((keyring.primary, None))
        attempts.extend((old_key, None) for old_key in keyring.legacy)
    for index, (key, associated) in enumerate(attempts):
        try:
            data = AESGCM(key).decrypt(nonce, body, associated)
        except InvalidTag:
            continue
        return Opened(plaintext=_text(data), current=index == 0)
    bound = "belongs to another account or field, " if aad is not None else ""
    raise SecretCorrupt(
        f"enc1: value failed authentication: it {bound}was altered, or was sealed with "
        f"another key than {keyring.source}"
    )


def aesgcm_decrypt(*, stored: str, aad: bytes | None = None, key: bytes | None = None) -> str:
    """The plaintext of an ``enc1:`` value (legacy forms accepted; see aesgcm_open)."""
    keyring = AesKeyring(primary=key, legacy=(), source="the given key") if key else None
    return aesgcm_open(stored=stored, aad=aad, keyring=keyring).plaintext
