"""``manage.py reencrypt``: everything moves to the active scheme now; output
holds counts, never a secret; failures exit non-zero."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.crypto import SecretCorrupt
from accounts.crypto.aesgcm import aesgcm_decrypt
from accounts.models import Account
from accounts.secret_fields import SECRET_FIELDS, account_secret_get
from accounts.secrets import SecretBinding, seal
from tests.accounts.conftest import HEX_KEY, SetEnv
from tests.personas import Persona
from tests.servers.openbao import OpenBaoServer

PASSPHRASE = "correct horse battery staple"
# Made with `git show f0d86c3:accounts/crypto/aesgcm.py` (before values were bound):
# aesgcm_encrypt(plaintext="alice-legacy-pw", key=aesgcm_key_derive(secret_key=PASSPHRASE)).
ALICE_LEGACY_ENC1 = "enc1:e8Tv8rQvxYOCDuHi4PO3P6V1UrTTTpaQNfehwC2eEfiS5FZwquLQ+xehwA=="


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("reencrypt", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_moves_plaintext_and_enc1_to_vault(
    openbao: OpenBaoServer, set_env: SetEnv, alice: Persona, bob: Persona, mallory: Persona
) -> None:
    secrets = {"alice": "alice-plain-pw", "bob": "bob-enc1-pw", "mallory": "mallory-refresh-tok"}
    set_env(secret_key=HEX_KEY, openbao_addr="")
    Account.objects.filter(pk=alice.account.pk).update(password=secrets["alice"])
    Account.objects.filter(pk=bob.account.pk).update(password=seal(secrets["bob"]))
    Account.objects.filter(pk=mallory.account.pk).update(password="", oauth_refresh_token=seal(secrets["mallory"]))
    set_env(openbao_addr=openbao.addr, openbao_token=openbao.token())

    dry_out, _ = run("--dry-run")
    assert "would re-encrypt 3 field(s) in 3 account(s)" in dry_out
    assert Account.objects.get(pk=alice.account.pk).password == secrets["alice"]

    out, err = run()
    assert "active scheme: vault" in out
    assert "accounts examined: 3" in out
    assert "re-encrypted 3 field(s) in 3 account(s); failed: 0" in out
    for secret in secrets.values():
        assert secret not in out and secret not in err

    for persona, field in ((alice, "password"), (bob, "password"), (mallory, "oauth_refresh_token")):
        account = Account.objects.get(pk=persona.account.pk)
        for name in SECRET_FIELDS:
            value = getattr(account, name)
            assert value == "" or value.startswith("vault:v1:"), (persona.login, name)
        assert account_secret_get(account=account, field=field) == secrets[persona.account.accountid]

    again, _ = run()
    assert "re-encrypted 0 field(s) in 0 account(s)" in again


def test_unreadable_values_fail_the_command_without_leaking(
    openbao: OpenBaoServer, set_env: SetEnv, alice: Persona, bob: Persona
) -> None:
    set_env(secret_key=HEX_KEY, openbao_addr="")
    Account.objects.filter(pk=bob.account.pk).update(password=seal("bob-secret"))
    Account.objects.filter(pk=alice.account.pk).update(password="alice-secret")
    # Moving to OpenBao but JMAP_SECRET_KEY was dropped too early.
    set_env(secret_key="", openbao_addr=openbao.addr, openbao_token=openbao.token())
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 account"):
        call_command("reencrypt", stdout=out, stderr=err)
    assert "failed: 1" in out.getvalue()
    assert "bob" in err.getvalue() and "JMAP_SECRET_KEY" in err.getvalue()
    for text in (out.getvalue(), err.getvalue()):
        assert "bob-secret" not in text and "alice-secret" not in text
    # The readable account was still moved.
    assert Account.objects.get(pk=alice.account.pk).password.startswith("vault:v1:")


def test_without_configuration_values_move_to_the_generated_key(
    no_encryption: None, alice: Persona, set_env: SetEnv, tmp_path: Path
) -> None:
    set_env(datadir=tmp_path)
    Account.objects.filter(pk=alice.account.pk).update(password=alice.password)  # a plaintext row
    out, _ = run()
    assert "active scheme: enc1" in out and "re-encrypted 1 field(s) in 1 account(s)" in out
    stored = Account.objects.get(pk=alice.account.pk).password
    key = bytes.fromhex((tmp_path / "secret.key").read_text().strip())
    raw = base64.b64decode(stored.removeprefix("enc1:"))
    binding = SecretBinding(accountid="alice", field="password")
    assert AESGCM(key).decrypt(raw[:12], raw[12:], binding.aad) == alice.password.encode()


def test_values_of_the_previous_version_are_bound_to_their_row(
    set_env: SetEnv, alice: Persona, bob: Persona
) -> None:
    # Written by the code before this change: SHA-256 of the passphrase, no associated data.
    set_env(secret_key=PASSPHRASE, openbao_addr="")
    Account.objects.filter(pk=alice.account.pk).update(password=ALICE_LEGACY_ENC1)
    Account.objects.filter(pk=bob.account.pk).update(password="")
    assert account_secret_get(account=Account.objects.get(pk=alice.account.pk), field="password") == "alice-legacy-pw"
    out, _ = run()
    assert "re-encrypted 1 field(s) in 1 account(s); failed: 0" in out
    stored = Account.objects.get(pk=alice.account.pk).password
    assert stored != ALICE_LEGACY_ENC1
    with pytest.raises(SecretCorrupt):
        aesgcm_decrypt(stored=str(stored), aad=None)  # opens only with its binding now
    assert account_secret_get(account=Account.objects.get(pk=alice.account.pk), field="password") == "alice-legacy-pw"
    assert "re-encrypted 0 field(s)" in run()[0]


def test_plaintext_moves_to_enc1(aes_only: str, alice: Persona, bob: Persona) -> None:
    out, _ = run()
    assert "active scheme: enc1" in out
    assert "re-encrypted 2 field(s) in 2 account(s); failed: 0" in out
    assert alice.password not in out and bob.password not in out
    account = Account.objects.get(pk=alice.account.pk)
    assert account.password.startswith("enc1:")
    assert account_secret_get(account=account, field="password") == alice.password
