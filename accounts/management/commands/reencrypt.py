"""``manage.py reencrypt``: move every stored credential to the active scheme now.

Values are otherwise re-sealed on their next write. Refuses to run when no
encryption is configured (there would be no key to read sealed values with). Output is counts only --
never a value, plaintext or sealed. Exits non-zero if any account failed.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.crypto import CryptoError
from accounts.models import Account
from accounts.secret_fields import SECRET_FIELDS, account_fields_needing_reseal, account_reseal
from accounts.secrets import Scheme, active_scheme


class Command(BaseCommand):
    help = "Re-encrypt every stored account credential with the active scheme (vault:, enc1: or plaintext)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        scheme = active_scheme()
        if scheme is Scheme.PLAIN:
            # Without a key nothing sealed could even be read, let alone re-sealed.
            raise CommandError("no encryption is configured: set JMAP_SECRET_KEY or JMAP_OPENBAO_ADDR first")
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
