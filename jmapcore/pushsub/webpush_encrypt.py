"""Message Encryption for Web Push (RFC 8291) with the aes128gcm content coding (RFC 8188).

RFC 8620 §7.2: when a PushSubscription has `keys`, everything sent to its URL
is encrypted for the user agent's P-256 key `p256dh` and authentication
secret `auth`. The sender makes a fresh ECDH key pair and salt per message
(RFC 8291 §3.1, §3.4), so each body is unique; tests pass both in to check
the RFC 8291 Appendix A vector byte for byte.

The body is one aes128gcm record (RFC 8291 §4: a push message is a single
record, at most 4096 octets with its header):

    salt (16) ‖ rs (uint32) ‖ idlen (1) = 65 ‖ keyid = sender public key (65)
    ‖ AES-128-GCM(plaintext ‖ 0x02)
"""
from __future__ import annotations

import base64
import os
import re
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RECORD_SIZE = 4096
SALT_LENGTH = 16
AUTH_SECRET_LENGTH = 16
PUBLIC_KEY_LENGTH = 65  # an uncompressed P-256 point (X9.62)
TAG_LENGTH = 16
HEADER_LENGTH = SALT_LENGTH + 4 + 1 + PUBLIC_KEY_LENGTH
# RFC 8291 §4: the whole message (header and the single record) fits in 4096 octets.
MAX_PLAINTEXT = RECORD_SIZE - HEADER_LENGTH - 1 - TAG_LENGTH
# RFC 8188 §2: the padding delimiter of the last (here: only) record.
LAST_RECORD_DELIMITER = b"\x02"
_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


class WebPushKeyError(ValueError):
    """A p256dh or auth value that is not what RFC 8291 §3.2 requires."""


def b64url_decode(value: str) -> bytes:
    """URL-safe base64 (RFC 4648 §5), with or without padding, as RFC 8620 §7.2 keys use."""
    if not isinstance(value, str) or not _B64URL.fullmatch(value):
        raise WebPushKeyError("must be URL-safe base64")
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (ValueError, TypeError):
        raise WebPushKeyError("must be URL-safe base64") from None


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_key_load(raw: bytes) -> ec.EllipticCurvePublicKey:
    """An uncompressed P-256 point (RFC 8291 §3.1); WebPushKeyError otherwise."""
    if len(raw) != PUBLIC_KEY_LENGTH or raw[0] != 4:
        raise WebPushKeyError("p256dh must be an uncompressed P-256 public key (65 octets)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise WebPushKeyError("p256dh is not a point on P-256") from None


def webpush_keys_check(*, p256dh: str, auth: str) -> tuple[bytes, bytes]:
    """Decode and check a subscription's keys; returns (public key, auth secret) octets."""
    public = b64url_decode(p256dh)
    public_key_load(public)
    secret = b64url_decode(auth)
    if len(secret) != AUTH_SECRET_LENGTH:
        raise WebPushKeyError("auth must be a 16-octet secret")
    return public, secret


def _hkdf(*, salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def webpush_encrypt(
    *,
    plaintext: bytes,
    p256dh: bytes,
    auth_secret: bytes,
    sender_private_key: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """The aes128gcm body carrying `plaintext` for the user agent key `p256dh`.

    RFC 8291 §3.3-§3.4: ecdh_secret = ECDH(as_private, ua_public);
    IKM = HKDF(salt=auth_secret, ikm=ecdh_secret, info="WebPush: info" 0x00
    ‖ ua_public ‖ as_public, L=32); then RFC 8188 §2.2-§2.3: CEK =
    HKDF(salt, IKM, "Content-Encoding: aes128gcm" 0x00, 16) and NONCE =
    HKDF(salt, IKM, "Content-Encoding: nonce" 0x00, 12) (sequence number 0).
    `sender_private_key` and `salt` are fresh random values unless given.
    """
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(f"a push message holds at most {MAX_PLAINTEXT} octets of plaintext")
    if len(auth_secret) != AUTH_SECRET_LENGTH:
        raise WebPushKeyError("auth must be a 16-octet secret")
    ua_public_key = public_key_load(p256dh)
    private = sender_private_key or ec.generate_private_key(ec.SECP256R1())
    salt = os.urandom(SALT_LENGTH) if salt is None else salt
    if len(salt) != SALT_LENGTH:
        raise ValueError("the salt must be 16 octets")
    as_public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )

    ecdh_secret = private.exchange(ec.ECDH(), ua_public_key)
    key_info = b"WebPush: info\x00" + p256dh + as_public
    ikm = _hkdf(salt=auth_secret, ikm=ecdh_secret, info=key_info, length=32)
    cek = _hkdf(salt=salt, ikm=ikm, info=b"Content-Encoding: aes128gcm\x00", length=16)
    nonce = _hkdf(salt=salt, ikm=ikm, info=b"Content-Encoding: nonce\x00", length=12)

    header = salt + struct.pack("!IB", RECORD_SIZE, len(as_public)) + as_public
    record = AESGCM(cek).encrypt(nonce, plaintext + LAST_RECORD_DELIMITER, None)
    return header + record
