"""enc1: values: exact format, key derivation, tampering (accounts.crypto.aesgcm)."""
from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from accounts.crypto import SecretCorrupt
from accounts.crypto.aesgcm import aesgcm_decrypt, aesgcm_encrypt, aesgcm_key_derive
from accounts.crypto.keys import SCRYPT_N, SCRYPT_P, SCRYPT_R
from accounts.models import CryptoParameter
from accounts.secrets import SecretBinding, seal, unseal
from tests.accounts.conftest import HEX_KEY, SetEnv

PLAINTEXT = "imap pässword ✓ with spaces"


def test_round_trip_and_exact_format(aes_only: str) -> None:
    stored = seal(PLAINTEXT)
    assert stored.startswith("enc1:")
    raw = base64.b64decode(stored[len("enc1:") :], validate=True)
    encoded = PLAINTEXT.encode()
    # 12-byte nonce, then ciphertext as long as the plaintext, then the 16-byte tag.
    assert len(raw) == 12 + len(encoded) + 16
    nonce, body = raw[:12], raw[12:]
    # Decrypt independently of our code, with the hex key's raw bytes.
    assert AESGCM(bytes.fromhex(HEX_KEY)).decrypt(nonce, body, None) == encoded
    assert unseal(stored) == PLAINTEXT


def test_each_seal_uses_a_fresh_nonce(aes_only: str) -> None:
    first, second = seal(PLAINTEXT), seal(PLAINTEXT)
    assert first != second
    assert base64.b64decode(first[5:])[:12] != base64.b64decode(second[5:])[:12]


def test_a_value_sealed_by_another_tool_is_read(aes_only: str) -> None:
    nonce = bytes(range(12))
    sealed = AESGCM(bytes.fromhex(HEX_KEY)).encrypt(nonce, b"s3cret", None)
    foreign = "enc1:" + base64.b64encode(nonce + sealed).decode()
    assert unseal(foreign) == "s3cret"


def test_64_hex_chars_are_the_key_itself() -> None:
    assert aesgcm_key_derive(secret_key=HEX_KEY) == bytes.fromhex(HEX_KEY)
    assert aesgcm_key_derive(secret_key=HEX_KEY.upper()) == bytes.fromhex(HEX_KEY)


def test_the_unsalted_derivation_is_kept_for_old_values() -> None:
    for passphrase in ("correct horse battery staple", HEX_KEY[:-1], HEX_KEY + "0", "zz" * 32):
        assert aesgcm_key_derive(secret_key=passphrase) == hashlib.sha256(passphrase.encode()).digest()


def test_anything_else_is_a_passphrase_through_scrypt_with_the_stored_salt(set_env: SetEnv, db: None) -> None:
    set_env(secret_key="correct horse battery staple", openbao_addr="")
    binding = SecretBinding(accountid="alice", field="password")
    stored = seal(PLAINTEXT, binding=binding)
    salt = base64.b64decode(CryptoParameter.objects.get(name="enc1-kdf-salt").value)
    assert len(salt) == 16
    key = hashlib.scrypt(
        b"correct horse battery staple", salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=2**26, dklen=32
    )
    raw = base64.b64decode(stored[5:])
    assert AESGCM(key).decrypt(raw[:12], raw[12:], binding.aad) == PLAINTEXT.encode()
    # The old unsalted key does not open new values.
    with pytest.raises(InvalidTag):
        AESGCM(hashlib.sha256(b"correct horse battery staple").digest()).decrypt(raw[:12], raw[12:], binding.aad)
    assert unseal(stored, binding=binding) == PLAINTEXT


def test_another_salt_gives_another_key(set_env: SetEnv, db: None) -> None:
    set_env(secret_key="correct horse battery staple", openbao_addr="")
    stored = seal(PLAINTEXT)
    # Another installation (another database) with the same passphrase.
    CryptoParameter.objects.filter(name="enc1-kdf-salt").update(value=base64.b64encode(b"\x01" * 16).decode())
    with pytest.raises(SecretCorrupt, match="JMAP_SECRET_KEY"):
        unseal(stored)


@pytest.mark.parametrize("position", [0, 5, 12, -1])
def test_tampering_is_detected(aes_only: str, position: int) -> None:
    raw = bytearray(base64.b64decode(seal(PLAINTEXT)[5:]))
    raw[position] ^= 0x01
    with pytest.raises(SecretCorrupt, match="failed authentication"):
        unseal("enc1:" + base64.b64encode(bytes(raw)).decode())


def test_truncated_or_garbled_values_are_errors(aes_only: str) -> None:
    with pytest.raises(SecretCorrupt, match="too short"):
        unseal("enc1:" + base64.b64encode(b"x" * 27).decode())
    with pytest.raises(SecretCorrupt, match="base64"):
        unseal("enc1:not base64!")


def test_another_key_cannot_read_it(aes_only: str, set_env: SetEnv, db: None) -> None:
    stored = seal(PLAINTEXT)
    set_env(secret_key="a different passphrase")
    with pytest.raises(SecretCorrupt) as caught:
        unseal(stored)
    assert PLAINTEXT not in str(caught.value)


def test_missing_key_names_the_setting_not_the_secret(aes_only: str, set_env: SetEnv) -> None:
    stored = seal(PLAINTEXT)
    set_env(secret_key="")  # now the key generated in $JMAP_DATADIR is the active one
    with pytest.raises(SecretCorrupt, match="JMAP_SECRET_KEY is not set") as caught:
        unseal(stored)
    assert PLAINTEXT not in str(caught.value)


def test_explicit_key_argument() -> None:
    key = bytes(range(32))
    assert aesgcm_decrypt(stored=aesgcm_encrypt(plaintext="x", key=key), key=key) == "x"
