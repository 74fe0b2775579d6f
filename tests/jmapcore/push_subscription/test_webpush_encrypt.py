"""RFC 8291 message encryption (aes128gcm, RFC 8188): the Appendix A test
vector to the byte, and a round trip through an independent decryption as
a user agent would do it."""
from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jmapcore.pushsub.webpush_encrypt import (
    MAX_PLAINTEXT,
    WebPushKeyError,
    b64url_decode,
    b64url_encode,
    webpush_encrypt,
    webpush_keys_check,
)

# RFC 8291 §5 and Appendix A.
PLAINTEXT = b"When I grow up, I want to be a watermelon"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
AS_PUBLIC = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
HEADER = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
)
CIPHERTEXT = "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_"
    "yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)


def private_key(b64: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64url_decode(b64), "big"), ec.SECP256R1())


def public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def ua_decrypt(body: bytes, *, ua_private: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """What a user agent does (RFC 8291 §3.4, RFC 8188 §2), written apart from the code under test."""
    salt, (record_size, idlen) = body[:16], struct.unpack("!IB", body[16:21])
    sender_public = body[21 : 21 + idlen]
    record = body[21 + idlen :]
    assert record_size == 4096 and idlen == 65 and len(record) <= record_size
    sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
    shared = ua_private.exchange(ec.ECDH(), sender)
    info = b"WebPush: info\x00" + public_bytes(ua_private) + sender_public
    ikm = HKDF(algorithm=hashes.SHA256(), length=32, salt=auth_secret, info=info).derive(shared)
    cek = HKDF(algorithm=hashes.SHA256(), length=16, salt=salt, info=b"Content-Encoding: aes128gcm\x00").derive(ikm)
    nonce = HKDF(algorithm=hashes.SHA256(), length=12, salt=salt, info=b"Content-Encoding: nonce\x00").derive(ikm)
    padded = AESGCM(cek).decrypt(nonce, record, None)
    content = padded.rstrip(b"\x00")
    assert content.endswith(b"\x02"), "the only record is the last one"
    return content[:-1]


def test_rfc8291_appendix_a_vector_byte_for_byte() -> None:
    body = webpush_encrypt(
        plaintext=PLAINTEXT,
        p256dh=b64url_decode(UA_PUBLIC),
        auth_secret=b64url_decode(AUTH),
        sender_private_key=private_key(AS_PRIVATE),
        salt=b64url_decode(SALT),
    )
    assert b64url_encode(public_bytes(private_key(AS_PRIVATE))) == AS_PUBLIC
    assert b64url_encode(body[:86]) == HEADER
    assert b64url_encode(body[86:]) == CIPHERTEXT
    assert body == b64url_decode(BODY)


def test_rfc8291_vector_decrypts_with_the_user_agent_key() -> None:
    plain = ua_decrypt(b64url_decode(BODY), ua_private=private_key(UA_PRIVATE), auth_secret=b64url_decode(AUTH))
    assert plain == PLAINTEXT


def test_round_trip_with_fresh_sender_key_and_salt() -> None:
    ua = ec.generate_private_key(ec.SECP256R1())
    auth = b"0123456789abcdef"
    message = b'{"@type":"StateChange","changed":{"alice":{"Email":"s1"}}}'
    first = webpush_encrypt(plaintext=message, p256dh=public_bytes(ua), auth_secret=auth)
    second = webpush_encrypt(plaintext=message, p256dh=public_bytes(ua), auth_secret=auth)
    assert first != second, "each message gets its own salt and sender key"
    assert first[16:21] == struct.pack("!IB", 4096, 65)
    for body in (first, second):
        assert ua_decrypt(body, ua_private=ua, auth_secret=auth) == message


def test_the_wrong_auth_secret_does_not_decrypt() -> None:
    ua = ec.generate_private_key(ec.SECP256R1())
    body = webpush_encrypt(plaintext=b"secret", p256dh=public_bytes(ua), auth_secret=b"A" * 16)
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        ua_decrypt(body, ua_private=ua, auth_secret=b"B" * 16)


def test_a_message_must_fit_one_4096_octet_record() -> None:
    ua = ec.generate_private_key(ec.SECP256R1())
    body = webpush_encrypt(plaintext=b"x" * MAX_PLAINTEXT, p256dh=public_bytes(ua), auth_secret=b"A" * 16)
    assert len(body) == 4096
    with pytest.raises(ValueError):
        webpush_encrypt(plaintext=b"x" * (MAX_PLAINTEXT + 1), p256dh=public_bytes(ua), auth_secret=b"A" * 16)


@pytest.mark.parametrize(
    ("p256dh", "auth", "complaint"),
    [
        ("AAAA", AUTH, "65 octets"),
        ("C" + UA_PUBLIC[1:], AUTH, "65 octets"),  # 0x08... is not an uncompressed point
        (UA_PUBLIC[:-4] + "AAAA", AUTH, "P-256"),  # off the curve
        (UA_PUBLIC, "AAAA", "16-octet"),
        (UA_PUBLIC, "not base64!", "base64"),
        (UA_PUBLIC, "BTBZMqHH6r4Tts7J/aSIgg", "base64"),  # the standard alphabet, not URL-safe
    ],
)
def test_bad_keys_are_refused(p256dh: str, auth: str, complaint: str) -> None:
    with pytest.raises(WebPushKeyError, match=complaint):
        webpush_keys_check(p256dh=p256dh, auth=auth)


def test_good_keys_pass_with_or_without_padding() -> None:
    public, secret = webpush_keys_check(p256dh=UA_PUBLIC, auth=AUTH + "==")
    assert len(public) == 65 and len(secret) == 16
