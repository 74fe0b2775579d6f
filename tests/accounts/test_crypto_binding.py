"""Each stored credential is bound to its account and column (AES-GCM / Transit
associated data): a value copied into another row or column does not open, and
values written before binding existed are still read, then re-sealed bound."""
from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from accounts.crypto import SecretCorrupt
from accounts.crypto.aesgcm import aesgcm_decrypt
from accounts.crypto.vault import vault_decrypt
from accounts.models import Account
from accounts.secret_fields import account_reseal, account_secret_get, account_secret_set
from accounts.secrets import needs_reseal, seal, unseal
from accounts.services import account_create
from tests.accounts.conftest import SetEnv
from tests.personas import Persona
from tests.servers.openbao import OpenBaoServer

# Made with `git show f0d86c3:accounts/crypto/aesgcm.py` (no associated data):
# aesgcm_encrypt(plaintext="bob-legacy-pw", key=aesgcm_key_derive(secret_key=HEX_KEY)) -- the
# aes_only fixture's key.
BOB_LEGACY_ENC1 = "enc1:24Dt9OVaMh0NIvqQYZEGzdZGq5KUgU8EbcdWwNLCqrl71KEJWbypUFQ="


def copy_password(*, source: Persona, target: Persona) -> None:
    """What someone with write access to the database could do."""
    stolen = Account.objects.values_list("password", flat=True).get(pk=source.account.pk)
    Account.objects.filter(pk=target.account.pk).update(password=stolen)


def test_alices_enc1_value_in_bobs_row_does_not_open(aes_only: str, alice: Persona, bob: Persona) -> None:
    account_secret_set(account=alice.account, field="password", value="alice-imap-pw")
    copy_password(source=alice, target=bob)
    bob_row = Account.objects.get(pk=bob.account.pk)
    with pytest.raises(SecretCorrupt, match="belongs to another account or field") as caught:
        account_secret_get(account=bob_row, field="password")
    assert "alice-imap-pw" not in str(caught.value)
    # unseal() on the model attribute knows the row it was read from, too.
    with pytest.raises(SecretCorrupt, match="another account"):
        unseal(bob_row.password)
    # Alice still reads hers.
    assert account_secret_get(account=Account.objects.get(pk=alice.account.pk), field="password") == "alice-imap-pw"


def test_a_value_moved_to_another_column_does_not_open(aes_only: str, alice: Persona) -> None:
    account_secret_set(account=alice.account, field="password", value="alice-imap-pw")
    sealed = Account.objects.values_list("password", flat=True).get(pk=alice.account.pk)
    Account.objects.filter(pk=alice.account.pk).update(oauth_access_token=sealed)
    with pytest.raises(SecretCorrupt, match="belongs to another account or field"):
        account_secret_get(account=Account.objects.get(pk=alice.account.pk), field="oauth_access_token")


def test_alices_vault_value_in_bobs_row_does_not_open(
    openbao: OpenBaoServer, set_env: SetEnv, alice: Persona, bob: Persona
) -> None:
    set_env(secret_key="", openbao_addr=openbao.addr, openbao_token=openbao.token())
    account_secret_set(account=alice.account, field="password", value="alice-imap-pw")
    stored = Account.objects.get(pk=alice.account.pk).password
    assert stored.startswith("vault:v1:")
    with pytest.raises(SecretCorrupt):
        vault_decrypt(stored=str(stored), aad=None)  # bound: the bare ciphertext is not enough
    copy_password(source=alice, target=bob)
    with pytest.raises(SecretCorrupt, match="belongs to another account or field"):
        account_secret_get(account=Account.objects.get(pk=bob.account.pk), field="password")
    assert account_secret_get(account=Account.objects.get(pk=alice.account.pk), field="password") == "alice-imap-pw"


def test_unbound_vault_values_are_read_then_bound(
    openbao: OpenBaoServer, set_env: SetEnv, alice: Persona
) -> None:
    set_env(secret_key="", openbao_addr=openbao.addr, openbao_token=openbao.token())
    unbound = seal("alice-old-vault-pw")  # as the previous version wrote it
    Account.objects.filter(pk=alice.account.pk).update(password=unbound)
    account = Account.objects.get(pk=alice.account.pk)
    assert account_secret_get(account=account, field="password") == "alice-old-vault-pw"
    assert needs_reseal(account.password)
    assert account_reseal(account=account) is True
    rebound = Account.objects.get(pk=alice.account.pk)
    assert rebound.password != unbound and not needs_reseal(rebound.password)
    assert account_secret_get(account=rebound, field="password") == "alice-old-vault-pw"


def test_values_from_before_binding_are_read_and_resealed(aes_only: str, bob: Persona) -> None:
    Account.objects.filter(pk=bob.account.pk).update(password=BOB_LEGACY_ENC1)
    account = Account.objects.get(pk=bob.account.pk)
    assert account_secret_get(account=account, field="password") == "bob-legacy-pw"
    assert needs_reseal(account.password) is True
    assert account_reseal(account=account) is True
    stored = Account.objects.get(pk=bob.account.pk).password
    with pytest.raises(SecretCorrupt):
        aesgcm_decrypt(stored=str(stored), aad=None)
    assert account_secret_get(account=Account.objects.get(pk=bob.account.pk), field="password") == "bob-legacy-pw"


def test_a_value_sealed_without_binding_is_bound_when_saved(aes_only: str, alice: Persona) -> None:
    """Callers that seal() without naming the row (the dashboard form, the
    management services) still store bound values: the model binds on save."""
    account = Account.objects.get(pk=alice.account.pk)
    account.password = seal("alice-new-pw")
    account.save()
    stored = Account.objects.values_list("password", flat=True).get(pk=alice.account.pk)
    with pytest.raises(SecretCorrupt):
        aesgcm_decrypt(stored=stored, aad=None)
    assert account_secret_get(account=Account.objects.get(pk=alice.account.pk), field="password") == "alice-new-pw"
    # Saving the row again leaves the stored value alone.
    again = Account.objects.get(pk=alice.account.pk)
    again.name = "Alice Liddell"
    again.save()
    assert Account.objects.values_list("password", flat=True).get(pk=alice.account.pk) == stored


def test_an_account_created_by_the_service_is_bound(aes_only: str, alice: Persona) -> None:
    created = account_create(
        accountid="carol", email="carol@example.test", password="carol-imap-pw",
        imap_host="127.0.0.1", imap_port=1, imap_ssl=0, check=False,
    )  # fmt: skip
    stored = Account.objects.values_list("password", flat=True).get(pk=created.pk)
    assert stored.startswith("enc1:")
    with pytest.raises(SecretCorrupt):
        aesgcm_decrypt(stored=stored, aad=None)
    assert account_secret_get(account=Account.objects.get(pk=created.pk), field="password") == "carol-imap-pw"


def test_after_reencrypt_an_old_unbound_value_is_refused_in_any_row(
    aes_only: str, alice: Persona, bob: Persona
) -> None:
    """An old backup's unbound value pasted into a row would otherwise still open
    through the legacy path; once reencrypt has bound everything it does not."""
    Account.objects.filter(pk=bob.account.pk).update(password=BOB_LEGACY_ENC1)
    call_command("reencrypt", stdout=io.StringIO())
    Account.objects.filter(pk=alice.account.pk).update(password=BOB_LEGACY_ENC1)
    with pytest.raises(SecretCorrupt, match=re.escape("refused since `manage.py reencrypt`")):
        account_secret_get(account=Account.objects.get(pk=alice.account.pk), field="password")
    assert account_secret_get(account=Account.objects.get(pk=bob.account.pk), field="password") == "bob-legacy-pw"
    # Code that seals without naming the row still stores a readable, bound value.
    account = Account.objects.get(pk=alice.account.pk)
    account.password = seal("alice-new-pw")
    account.save()
    assert account_secret_get(account=Account.objects.get(pk=alice.account.pk), field="password") == "alice-new-pw"
