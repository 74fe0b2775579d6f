"""The model field of Account's secret columns: values that know their row.

Reading ``account.password`` gives a StoredSecret: the stored string (plaintext,
``enc1:`` or ``vault:``) tagged with SecretBinding(accountid, column), so
``accounts.secrets.unseal(account.password)`` opens a bound value without each
caller having to name the row again.

Saving binds what callers sealed without a binding: when a value assigned by code
(not the one read from the database, and not one sealed for this very row) is a
sealed value, pre_save() re-seals it bound to the row and column. Plaintext
assigned by code is left as given (it is a legacy value; account_secret_set and
the sync re-seal it). A failure to re-seal never fails the save: the value is
stored as given, still readable, and the next sync retries.

Migrations see a plain TextField (deconstruct), so the schema is unchanged.
"""
from __future__ import annotations

import logging
from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

log = logging.getLogger(__name__)


class StoredSecret(str):
    """A secret column's stored value plus where it came from.

    ``binding``: the row and column it was read from or sealed for (None when
    unknown); ``from_db``: it is the value the database returned for this row.
    """

    binding: Any
    from_db: bool

    def __new__(cls, value: str, *, binding: Any = None, from_db: bool = False) -> StoredSecret:
        made = super().__new__(cls, value)
        made.binding = binding
        made.from_db = from_db
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle (cache, Celery) as a plain string: the tag is rebuilt on access.
        return (str, (str(self),))


def _binding(instance: models.Model, attname: str) -> Any:
    from accounts.secrets import SecretBinding

    return SecretBinding(accountid=str(getattr(instance, "accountid", "")), field=attname)


class _SecretAttribute(DeferredAttribute):
    """Data descriptor: keeps the raw value in ``instance.__dict__`` (as Django
    does) and hands it out tagged with the row's binding."""

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if not isinstance(value, str) or value == "":
            return value
        return StoredSecret(value, binding=_binding(instance, self.field.attname))

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class SecretTextField(models.TextField):
    """A TextField holding a sealed credential (see module doc)."""

    descriptor_class = _SecretAttribute

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if isinstance(value, str) and value:
            return StoredSecret(value, from_db=True)
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return str(value) if isinstance(value, str) else value

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        raw = model_instance.__dict__.get(self.attname)
        if not isinstance(raw, str) or raw == "":
            return raw
        binding = _binding(model_instance, self.attname)
        if isinstance(raw, StoredSecret) and (raw.from_db or raw.binding == binding):
            return str(raw)
        from accounts.secrets import CryptoError, Scheme, SecretCorrupt, needs_reseal, seal, stored_scheme, unseal

        text = str(raw)
        if stored_scheme(text) is Scheme.PLAIN:
            return text
        try:
            if isinstance(raw, StoredSecret) and raw.binding is not None:
                plaintext = unseal(text, binding=raw.binding)  # read from another row or column
            else:
                try:
                    # Sealed by code in this process without a binding: opening it
                    # unbound is legitimate even once unbound values are refused
                    # when read from the database.
                    plaintext = unseal(text, binding=None)
                except SecretCorrupt:
                    if not needs_reseal(text, binding=binding):
                        return text  # already sealed for this very row
                    plaintext = unseal(text, binding=binding)
            sealed = seal(plaintext, binding=binding)
        except CryptoError as exc:
            log.warning(
                "account %s: %s stored without binding it to its row: %s",
                binding.accountid, self.attname, type(exc).__name__,
            )
            return text
        model_instance.__dict__[self.attname] = StoredSecret(sealed, binding=binding)
        return sealed
