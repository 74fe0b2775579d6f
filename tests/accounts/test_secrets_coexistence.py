"""Plaintext, enc1: and vault: values side by side (accounts.secrets,
accounts.secret_fields): the active scheme, needs_reseal, reading every form."""
from __future__ import annotations

import pytest

from accounts.crypto import SecretCorrupt
from accounts.models import Account
from accounts.secret_fields import account_secret_get, account_secret_set
from accounts.secrets import Scheme, active_scheme, needs_reseal, seal, stored_scheme, unseal
from tests.accounts.conftest import HEX_KEY, SetEnv
from tests.personas import Persona
from tests.servers.openbao import OpenBaoServer


def vault_env(openbao: OpenBaoServer, set_env: SetEnv, *, secret_key: str = HEX_KEY) -> None:
    set_env(
        secret_key=secret_key,
        openbao_addr=openbao.addr,
        openbao_token=openbao.token(),
        openbao_role_id="",
        openbao_secret_id="",
        openbao_mount=openbao.mount,
        openbao_key=openbao.key,
    )


def test_active_scheme_prefers_openbao_then_aes_and_is_never_plain(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    set_env(secret_key="", openbao_addr="")
    assert active_scheme() is Scheme.ENC1  # with the key generated in $JMAP_DATADIR
    assert seal("pw").startswith("enc1:")
    set_env(secret_key=HEX_KEY)
    assert active_scheme() is Scheme.ENC1
    vault_env(openbao, set_env)
    assert active_scheme() is Scheme.VAULT


def test_empty_means_no_secret_under_every_scheme(aes_only: str) -> None:
    assert seal("") == ""
    assert unseal("") == ""
    assert needs_reseal("") is False


def test_needs_reseal_follows_the_active_scheme(openbao: OpenBaoServer, set_env: SetEnv) -> None:
    set_env(secret_key=HEX_KEY, openbao_addr="")
    enc1 = seal("pw")
    assert stored_scheme(enc1) is Scheme.ENC1
    assert (needs_reseal("pw"), needs_reseal(enc1)) == (True, False)
    vault_env(openbao, set_env)
    vault_value = seal("pw")
    assert stored_scheme(vault_value) is Scheme.VAULT
    assert (needs_reseal("pw"), needs_reseal(enc1), needs_reseal(vault_value)) == (True, True, False)
    set_env(secret_key="", openbao_addr="")
    assert (needs_reseal("pw"), needs_reseal(enc1), needs_reseal(vault_value)) == (True, False, True)


def test_three_accounts_three_forms_all_read(
    openbao: OpenBaoServer, set_env: SetEnv, alice: Persona, bob: Persona, mallory: Persona
) -> None:
    # alice: plaintext, as versions before encryption by default stored it.
    Account.objects.filter(pk=alice.account.pk).update(password="alice-imap")
    # bob: enc1:, written while only JMAP_SECRET_KEY was set.
    set_env(secret_key=HEX_KEY)
    account_secret_set(account=bob.account, field="password", value="bob-imap")
    # mallory: vault:, written after OpenBao was configured.
    vault_env(openbao, set_env)
    account_secret_set(account=mallory.account, field="oauth_refresh_token", value="mallory-refresh")

    rows = Account.objects.filter(accountid__in=["alice", "bob", "mallory"])
    stored = {a.accountid: (a.password, a.oauth_refresh_token) for a in rows}
    assert stored["alice"][0] == "alice-imap"
    assert stored["bob"][0].startswith("enc1:")
    assert stored["mallory"][1].startswith("vault:v1:")

    for persona, field, expected in (
        (alice, "password", "alice-imap"),
        (bob, "password", "bob-imap"),
        (mallory, "oauth_refresh_token", "mallory-refresh"),
    ):
        fresh = Account.objects.get(pk=persona.account.pk)
        assert account_secret_get(account=fresh, field=field) == expected


def test_enc1_needs_the_key_even_after_moving_to_openbao(openbao: OpenBaoServer, set_env: SetEnv, bob: Persona) -> None:
    set_env(secret_key=HEX_KEY, openbao_addr="")
    account_secret_set(account=bob.account, field="password", value="bob-imap")
    vault_env(openbao, set_env, secret_key="")
    with pytest.raises(SecretCorrupt, match="JMAP_SECRET_KEY is not set") as caught:
        account_secret_get(account=bob.account, field="password")
    assert "bob-imap" not in str(caught.value)


def test_only_secret_fields_are_accepted(alice: Persona) -> None:
    with pytest.raises(ValueError, match="not a secret field"):
        account_secret_get(account=alice.account, field="email")
    with pytest.raises(ValueError, match="not a secret field"):
        account_secret_set(account=alice.account, field="imap_host", value="x")
