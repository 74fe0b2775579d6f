"""``manage.py reencrypt``: move every stored credential to the current form now.

The current form is the active scheme (OpenBao Transit when configured, else
``enc1:``), the active key (not the pre-scrypt SHA-256 of a passphrase) and bound
to its account and column (accounts.secrets.SecretBinding). Values are otherwise
re-sealed on their next write or sync. Output is counts only -- never a value,
plaintext or sealed. Exits non-zero if any account failed.

When every value was bound (nothing failed, not a dry run), it records that
unbound values are refused from now on (accounts.crypto.keys.unbound_values_refuse):
a value copied from an old backup into another account's row then no longer opens.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.crypto import CryptoError
from accounts.crypto.keys import unbound_values_refuse
from accounts.models import Account
from accounts.secret_fields import SECRET_FIELDS, account_fields_needing_reseal, account_reseal
from accounts.secrets import active_scheme


class Command(BaseCommand):
    help = "Re-encrypt every stored account credential with the active scheme and key, bound to its account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        scheme = active_scheme()
        examined = accounts_changed = fields_changed = 0
        failures: list[str] = []
        queryset = Account.objects.only("pk", "accountid", *SECRET_FIELDS).order_by("pk")
        for account in queryset.iterator(chunk_size=200):
            examined += 1
            try:
                fields = account_fields_needing_reseal(account=account)
                if fields and not dry_run and not account_reseal(account=account):
                    continue
            except CryptoError as exc:
                # The message names the missing setting or failed operation, never the value.
                failures.append(f"{account.accountid}: {type(exc).__name__}: {exc}")
                continue
            if fields:
                accounts_changed += 1
                fields_changed += len(fields)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(
            f"active scheme: {scheme.value}; accounts examined: {examined}; "
            f"{verb} {fields_changed} field(s) in {accounts_changed} account(s); failed: {len(failures)}"
        )
        for line in failures:
            self.stderr.write(f"failed {line}")
        if failures:
            raise CommandError(f"{len(failures)} account(s) could not be re-encrypted")
        if not dry_run:
            unbound_values_refuse()
            self.stdout.write("every credential is bound to its account; values without a binding are now refused")
