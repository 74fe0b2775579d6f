"""account_reseal: values move to the active scheme on write, and only the
fields that need it are written."""
from __future__ import annotations

from accounts.models import Account
from accounts.secret_fields import account_reseal, account_secret_get
from accounts.secrets import SecretBinding, seal
from tests.accounts.conftest import HEX_KEY, SetEnv
from tests.personas import Persona
from tests.servers.openbao import OpenBaoServer


def test_plaintext_moves_to_enc1(aes_only: str, alice: Persona) -> None:
    Account.objects.filter(pk=alice.account.pk).update(password="pw", oauth_access_token="at", oauth_refresh_token="")
    account = Account.objects.get(pk=alice.account.pk)
    assert account_reseal(account=account) is True
    stored = Account.objects.get(pk=account.pk)
    assert stored.password.startswith("enc1:") and stored.oauth_access_token.startswith("enc1:")
    assert stored.oauth_refresh_token == ""
    assert account.password == stored.password  # the instance is kept in step
    assert account_secret_get(account=stored, field="password") == "pw"
    assert account_secret_get(account=stored, field="oauth_access_token") == "at"
    assert account_reseal(account=stored) is False  # nothing left to do


def test_enc1_moves_to_vault_and_only_those_fields_are_written(
    openbao: OpenBaoServer, set_env: SetEnv, alice: Persona
) -> None:
    set_env(secret_key=HEX_KEY, openbao_addr="")
    enc1_password = seal("pw")
    Account.objects.filter(pk=alice.account.pk).update(password=enc1_password, oauth_access_token="")
    set_env(openbao_addr=openbao.addr, openbao_token=openbao.token())
    vault_token = seal("already-in-vault", binding=SecretBinding(accountid="alice", field="oauth_refresh_token"))
    Account.objects.filter(pk=alice.account.pk).update(oauth_refresh_token=vault_token)

    account = Account.objects.get(pk=alice.account.pk)
    before = account.updated_at
    # Someone renames the account meanwhile: re-sealing must not undo that.
    Account.objects.filter(pk=account.pk).update(name="Renamed")
    assert account_reseal(account=account) is True

    stored = Account.objects.get(pk=account.pk)
    assert stored.password.startswith("vault:v1:")
    assert stored.oauth_refresh_token == vault_token  # already active: untouched
    assert stored.name == "Renamed"
    assert stored.updated_at == before
    assert account_secret_get(account=stored, field="password") == "pw"


def test_a_concurrent_credential_change_wins(aes_only: str, alice: Persona) -> None:
    Account.objects.filter(pk=alice.account.pk).update(password="old")
    account = Account.objects.get(pk=alice.account.pk)
    new_value = seal("new")
    Account.objects.filter(pk=account.pk).update(password=new_value)  # written by another process
    assert account_reseal(account=account) is False
    assert Account.objects.get(pk=account.pk).password == new_value
