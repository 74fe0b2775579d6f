"""The secret columns of Account and the services that read, write and re-seal them.

Every read of a backend credential goes through account_secret_get() and every
write through account_secret_set(), so values move to the active encryption
scheme on their next write; account_reseal() moves an account's values now (the
``reencrypt`` management command runs it over every account).

Every value is sealed bound to its account and column (accounts.secrets,
SecretBinding): "the current form" means active scheme, active key, bound.
"""
from __future__ import annotations

import logging

from accounts.models import Account
from accounts.secret_column import StoredSecret
from accounts.secrets import SecretBinding, needs_reseal, seal, unseal

logger = logging.getLogger(__name__)

SECRET_FIELDS: tuple[str, ...] = ("password", "oauth_access_token", "oauth_refresh_token")


def _check_field(field: str) -> None:
    if field not in SECRET_FIELDS:
        raise ValueError(f"{field!r} is not a secret field of Account (one of {', '.join(SECRET_FIELDS)})")


def secret_binding(*, account: Account, field: str) -> SecretBinding:
    """The associated data that ties a value to this account and column."""
    _check_field(field)
    return SecretBinding(accountid=account.accountid, field=field)


def account_secret_get(*, account: Account, field: str) -> str:
    """The plaintext of one secret field (see accounts.secrets.unseal for errors;
    a value copied from another account or column raises SecretCorrupt)."""
    return unseal(getattr(account, field), binding=secret_binding(account=account, field=field))


def account_secret_set(*, account: Account, field: str, value: str) -> None:
    """Seal ``value`` with the active scheme, bound to the row, and save only that field."""
    setattr(account, field, seal(value, binding=secret_binding(account=account, field=field)))
    if account.pk is not None:
        account.save(update_fields=[field, "updated_at"])


def account_fields_needing_reseal(*, account: Account) -> list[str]:
    """The secret fields not in the current form (scheme, key, binding).

    Opens each sealed value to find out; raises CryptoError when one cannot be.
    """
    return [
        field
        for field in SECRET_FIELDS
        if needs_reseal(getattr(account, field), binding=secret_binding(account=account, field=field))
    ]


def account_reseal(*, account: Account) -> bool:
    """Re-seal every secret field not in the current form; True if any was rewritten.

    Each field is written with a compare-and-swap UPDATE (only if the column still
    holds the value we decrypted), so a concurrent change of the credential is
    never overwritten by its older value. ``updated_at`` is left alone: the
    credential itself did not change.
    """
    changed = False
    for field in account_fields_needing_reseal(account=account):
        old = str(getattr(account, field))
        binding = secret_binding(account=account, field=field)
        new = seal(unseal(old, binding=binding), binding=binding)
        swapped = Account.objects.filter(pk=account.pk, **{field: old}).update(**{field: new})
        if swapped:
            setattr(account, field, StoredSecret(new, binding=binding))
            changed = True
        else:
            logger.info("account %s: %s changed meanwhile; not re-sealed", account.accountid, field)
    return changed
