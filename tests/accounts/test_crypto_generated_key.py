"""With neither JMAP_SECRET_KEY nor OpenBao, credentials are sealed with a key
generated once into $JMAP_DATADIR/secret.key (accounts.crypto.keys)."""
from __future__ import annotations

import base64
import stat
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from accounts.crypto.keys import generated_keys_forget
from accounts.models import Account
from accounts.secret_fields import account_secret_get, account_secret_set
from accounts.secrets import SecretBinding, needs_reseal
from accounts.sync import account_sync
from tests.accounts.conftest import SetEnv
from tests.personas import Persona

ROOT = Path(__file__).resolve().parents[2]
RACERS = 6
# Each racer waits for the "go" file, then loads (or creates) the key and prints it.
RACER = """
import os, sys, time
from pathlib import Path
from accounts.crypto.keys import generated_key_load
datadir = Path(sys.argv[1])
while not (datadir.parent / "go").exists():
    time.sleep(0.001)
print(generated_key_load(datadir=datadir).hex())
"""


def test_first_use_generates_a_private_key_and_seals_with_it(
    no_encryption: None, set_env: SetEnv, tmp_path: Path, alice: Persona
) -> None:
    set_env(datadir=tmp_path)
    account_secret_set(account=alice.account, field="password", value="alice-imap-pw")
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = bytes.fromhex(key_file.read_text().strip())
    stored = Account.objects.values_list("password", flat=True).get(pk=alice.account.pk)
    raw = base64.b64decode(stored.removeprefix("enc1:"))
    aad = SecretBinding(accountid="alice", field="password").aad
    assert AESGCM(key).decrypt(raw[:12], raw[12:], aad) == b"alice-imap-pw"
    # Later uses (and a fresh process) read the same file instead of making a new key.
    generated_keys_forget()
    assert account_secret_get(account=Account.objects.get(pk=alice.account.pk), field="password") == "alice-imap-pw"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temporary file left


def test_plaintext_left_by_older_versions_is_sealed_at_the_next_sync(
    no_encryption: None, set_env: SetEnv, tmp_path: Path, alice: Persona
) -> None:
    set_env(datadir=tmp_path)
    Account.objects.filter(pk=alice.account.pk).update(password="alice-plain-pw")
    assert needs_reseal("alice-plain-pw") is True
    account_sync(account_id=alice.account.pk)  # the backend is unreachable; the re-seal happens first
    stored = Account.objects.get(pk=alice.account.pk)
    assert stored.password.startswith("enc1:")
    assert account_secret_get(account=stored, field="password") == "alice-plain-pw"


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    datadir = tmp_path / "data"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(datadir)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(RACERS)
    ]
    try:
        time.sleep(1.0)  # let every racer reach its wait loop (not an assertion on time)
        (tmp_path / "go").touch()
        outputs = [racer.communicate(timeout=60) for racer in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()
    keys = {out.decode().strip() for out, _ in outputs}
    assert all(racer.returncode == 0 for racer in racers), [err.decode() for _, err in outputs]
    assert keys == {(datadir / "secret.key").read_text().strip()}
    assert len(next(iter(keys))) == 64
