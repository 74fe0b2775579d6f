"""``manage.py issue_token ACCOUNTID``: issue a bearer token for the login
(pool) that holds the account, and print it. This is the only time the token is
shown: only its SHA-256 digest is stored."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.services import AccountNotFound, account_get
from accounts.tokens import token_issue


class Command(BaseCommand):
    help = "Issue a JMAP bearer token for the login that holds ACCOUNTID; prints it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("accountid")
        parser.add_argument("--name", default="", help="a label to tell tokens apart")
        parser.add_argument("--expires-in-days", type=int, help="the token stops working after this many days")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            account = account_get(accountid=options["accountid"])
        except AccountNotFound as exc:
            raise CommandError(exc.message) from None
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be positive")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        token, plaintext = token_issue(pool=account.pool, name=options["name"], expires_at=expires_at)
        self.stderr.write(
            f"token #{token.pk} for login {account.pool.login}; store it now, it is not shown again:"
        )
        self.stdout.write(plaintext)
