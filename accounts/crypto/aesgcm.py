"""The ``enc1:`` scheme: AES-256-GCM with a key from JMAP_SECRET_KEY.

Stored form: ``enc1:`` + standard base64 of ``nonce (12 bytes) || ciphertext ||
tag (16 bytes)`` -- exactly what ``cryptography``'s ``AESGCM.encrypt`` returns
appended to the nonce. No associated data is used, so a value can be decrypted
by any tool that knows the format and the key.

Key: when JMAP_SECRET_KEY is exactly 64 hexadecimal characters, those 32 bytes
are the key (``openssl rand -hex 32``); any other value is treated as a
passphrase and the key is its SHA-256 digest.

The key is read from ``django.conf.settings.ENV.secret_key`` at call time, so
``override_settings(ENV=dataclasses.replace(settings.ENV, secret_key=...))``
changes it for a test.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from accounts.crypto import SecretCorrupt, SecretUnavailable

PREFIX = "enc1:"
NONCE_SIZE = 12
TAG_SIZE = 16
_HEX_KEY = re.compile(r"[0-9A-Fa-f]{64}")


def aesgcm_key_derive(*, secret_key: str) -> bytes:
    """The 32-byte AES key for a JMAP_SECRET_KEY value (hex key or passphrase)."""
    if _HEX_KEY.fullmatch(secret_key):
        return bytes.fromhex(secret_key)
    return hashlib.sha256(secret_key.encode("utf-8")).digest()


def aesgcm_configured() -> bool:
    """True when JMAP_SECRET_KEY is set in the current settings."""
    return bool(settings.ENV.secret_key)


def _active_key() -> bytes:
    secret_key = settings.ENV.secret_key
    if not secret_key:
        raise SecretUnavailable("this value is encrypted with AES-256-GCM (enc1:) but JMAP_SECRET_KEY is not set")
    return aesgcm_key_derive(secret_key=secret_key)


def aesgcm_encrypt(*, plaintext: str, key: bytes | None = None) -> str:
    """Seal ``plaintext`` as an ``enc1:`` value with a fresh random nonce.

    ``key`` defaults to the one derived from JMAP_SECRET_KEY.
    """
    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(key or _active_key()).encrypt(nonce, plaintext.encode("utf-8"), None)
    return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def aesgcm_decrypt(*, stored: str, key: bytes | None = None) -> str:
    """Open an ``enc1:`` value; raise SecretCorrupt if it was altered or the key differs."""
    if not stored.startswith(PREFIX):
        raise SecretCorrupt("not an enc1: value")
    try:
        raw = base64.b64decode(stored[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise SecretCorrupt("enc1: value is not valid base64") from None
    if len(raw) < NONCE_SIZE + TAG_SIZE:
        raise SecretCorrupt("enc1: value is too short to hold a nonce and a tag")
    try:
        data = AESGCM(key or _active_key()).decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], None)
    except InvalidTag:
        # Either tampering or a different JMAP_SECRET_KEY: GCM cannot tell them apart.
        raise SecretCorrupt("enc1: value failed authentication (altered, or sealed with another JMAP_SECRET_KEY)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretCorrupt("enc1: value does not decrypt to UTF-8 text") from None
