"""Where the ``enc1:`` AES-256-GCM key comes from (DESIGN.md, "Security").

Three sources, in this order:

1. JMAP_SECRET_KEY of exactly 64 hexadecimal characters: those 32 bytes.
2. Any other JMAP_SECRET_KEY is a passphrase: the key is
   ``scrypt(passphrase, salt, n=2**15, r=8, p=1)``. The 16-byte random salt is
   kept in the database (accounts.models.CryptoParameter, name
   ``enc1-kdf-salt``), not in $JMAP_DATADIR: in scale-out every node shares the
   database but not the data directory, and every node must derive the same key.
   The salt is not secret; it only stops precomputed passphrase guessing.
   Values written before the salted KDF used ``SHA-256(passphrase)``: that key is
   kept as a *legacy* key so they stay readable until they are re-sealed.
3. Neither JMAP_SECRET_KEY nor OpenBao: a random key generated at the first use
   into ``$JMAP_DATADIR/secret.key`` (64 hex characters, mode 0600). It is
   published with link(2) from a fully written temporary file created with
   O_EXCL, so two processes starting at once agree on one key and nobody ever
   reads a half-written file. In scale-out the nodes do not share the data
   directory, so set JMAP_SECRET_KEY (the same on every node) or use OpenBao.

Derived keys are cached per process (scrypt costs ~0.1 s and 32 MiB).
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.crypto import SecretUnavailable

KEY_FILE_NAME = "secret.key"
KDF_SALT_PARAMETER = "enc1-kdf-salt"
UNBOUND_REFUSED_PARAMETER = "unbound-values-refused"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024  # 128 * r * n = 32 MiB, plus headroom
_HEX_KEY = re.compile(r"[0-9A-Fa-f]{64}")


@dataclass(frozen=True)
class AesKeyring:
    """The key new values are sealed with, and older keys still accepted for reading.

    ``source`` names where ``primary`` came from, for error messages (never the key).
    """

    primary: bytes
    legacy: tuple[bytes, ...]
    source: str

    def __repr__(self) -> str:  # never show key bytes in tracebacks or logs
        return f"AesKeyring(source={self.source!r}, legacy={len(self.legacy)})"

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible identity of the primary key (cache keys)."""
        return hashlib.sha256(b"jmap-proxy key id\x00" + self.primary).hexdigest()[:16]


def is_hex_key(secret_key: str) -> bool:
    return bool(_HEX_KEY.fullmatch(secret_key))


def legacy_passphrase_key(*, passphrase: str) -> bytes:
    """The key values were sealed with before the salted KDF: SHA-256 of the passphrase."""
    return hashlib.sha256(passphrase.encode("utf-8")).digest()


@lru_cache(maxsize=8)
def scrypt_key(*, passphrase: str, salt: bytes) -> bytes:
    """The 32-byte key for a passphrase and salt (scrypt, RFC 7914)."""
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_SCRYPT_MAXMEM, dklen=32
    )


def kdf_salt_get() -> bytes:
    """The installation's passphrase salt, created in the database on first use.

    Two processes creating it at once: the unique name lets one insert win and
    the other reads the winner's salt, so every process derives the same key.
    """
    from accounts.models import CryptoParameter

    found = CryptoParameter.objects.filter(name=KDF_SALT_PARAMETER).values_list("value", flat=True).first()
    if found is None:
        fresh = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
        try:
            with transaction.atomic():
                CryptoParameter.objects.create(name=KDF_SALT_PARAMETER, value=fresh)
            found = fresh
        except IntegrityError:
            found = CryptoParameter.objects.values_list("value", flat=True).get(name=KDF_SALT_PARAMETER)
    return base64.b64decode(found)


def unbound_values_refused() -> bool:
    """True once ``manage.py reencrypt`` has bound every stored value: from then on
    a value without its binding (e.g. copied from an old backup into another
    account's row) is refused instead of read as a legacy value."""
    from accounts.models import CryptoParameter

    return CryptoParameter.objects.filter(name=UNBOUND_REFUSED_PARAMETER).exists()


def unbound_values_refuse() -> None:
    """Record that every stored value is bound (see unbound_values_refused)."""
    from accounts.models import CryptoParameter

    CryptoParameter.objects.get_or_create(name=UNBOUND_REFUSED_PARAMETER, defaults={"value": "1"})


_generated: dict[Path, bytes] = {}
_generated_lock = threading.Lock()


def generated_key_path(*, datadir: Path) -> Path:
    return Path(datadir) / KEY_FILE_NAME


def generated_key_ensure(*, datadir: Path) -> bool:
    """Make sure ``$JMAP_DATADIR/secret.key`` exists; True if this call created it."""
    path = generated_key_path(datadir=datadir)
    existed = path.exists()
    generated_key_load(datadir=datadir)
    return not existed and path.exists()


def generated_key_load(*, datadir: Path) -> bytes:
    """The key in ``$JMAP_DATADIR/secret.key``, generating it if there is none yet."""
    path = generated_key_path(datadir=datadir)
    with _generated_lock:
        cached = _generated.get(path)
        if cached is not None:
            return cached
        if not path.exists():
            _generated_key_create(path)
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretUnavailable(f"cannot read the generated credential key {path}: {type(exc).__name__}") from None
        if not is_hex_key(text):
            raise SecretUnavailable(f"the generated credential key {path} is not 64 hexadecimal characters")
        key = bytes.fromhex(text)
        _generated[path] = key
        return key


def _generated_key_create(path: Path) -> None:
    """Write a fresh key to ``path`` unless another process did first (see module doc)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)  # atomic; fails if someone else published first
            except FileExistsError:
                pass
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as exc:
        raise SecretUnavailable(
            f"cannot create the credential key {path} ({type(exc).__name__}); "
            "make $JMAP_DATADIR writable, or set JMAP_SECRET_KEY or JMAP_OPENBAO_ADDR"
        ) from None


def generated_keys_forget() -> None:
    """Drop cached generated keys (tests that delete or replace the key file)."""
    with _generated_lock:
        _generated.clear()


def aesgcm_keyring() -> AesKeyring:
    """The keyring for the current settings (``settings.ENV``, read at call time)."""
    env = settings.ENV
    secret_key = env.secret_key
    if secret_key and is_hex_key(secret_key):
        return AesKeyring(primary=bytes.fromhex(secret_key), legacy=(), source="JMAP_SECRET_KEY")
    if secret_key:
        return AesKeyring(
            primary=scrypt_key(passphrase=secret_key, salt=kdf_salt_get()),
            legacy=(legacy_passphrase_key(passphrase=secret_key),),
            source="JMAP_SECRET_KEY (passphrase)",
        )
    path = generated_key_path(datadir=env.datadir)
    return AesKeyring(
        primary=generated_key_load(datadir=env.datadir),
        legacy=(),
        source=f"the key generated in {path} (JMAP_SECRET_KEY is not set)",
    )
