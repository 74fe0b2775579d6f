"""``manage.py create_account``: add an account as POST /api/accounts does.

Options mirror the API's JSON fields (--imap-host for imapHost, --imap-ssl for
imapSSL, ...). The backend password is never taken from the command line,
where other users could read it in the process list: it comes from
--password-file, from the environment variable named by --password-env, or
from an interactive prompt without echo. The backend is checked first unless
--no-check is given. Nothing secret is printed.
"""
from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.schemas import SSL_VALUES, api_field_name
from accounts.services import ServiceError, account_create


def password_read(*, path: str | None, env: str | None, prompt: str, interactive: bool) -> str:
    """The password from a file (first line), an environment variable or a prompt."""
    if path:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError as exc:
            raise CommandError(f"cannot read password file {path}: {exc.strerror}") from None
        value = lines[0] if lines else ""
    elif env:
        value = os.environ.get(env, "")
        if not value:
            raise CommandError(f"environment variable {env} is not set or empty")
    elif interactive:
        value = getpass.getpass(prompt)
    else:
        raise CommandError("no password: use --password-file, --password-env or a terminal")
    if not value:
        raise CommandError("the password is empty")
    return value


class Command(BaseCommand):
    help = "Create a JMAP account backed by IMAP or a JMAP server (same fields as POST /api/accounts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("accountid", help="JMAP accountId (letters, digits, - and _)")
        parser.add_argument("email")
        parser.add_argument("--type", choices=["imap", "jmap"], help="default: jmap if --session-url, else imap")
        parser.add_argument("--name", default="")
        parser.add_argument("--username", default="", help="backend login (default: the email)")
        parser.add_argument("--password-file", help="read the backend password from the first line of this file")
        parser.add_argument("--password-env", metavar="VARIABLE", help="read the backend password from this variable")
        parser.add_argument("--imap-host", default="")
        parser.add_argument("--imap-port", type=int)
        parser.add_argument("--imap-ssl", type=int, choices=SSL_VALUES)
        parser.add_argument("--smtp-host", default="")
        parser.add_argument("--smtp-port", type=int)
        parser.add_argument("--smtp-ssl", type=int, choices=SSL_VALUES)
        parser.add_argument("--caldav-url", default="")
        parser.add_argument("--carddav-url", default="")
        parser.add_argument("--session-url", default="")
        parser.add_argument("--auth-type", choices=["basic", "bearer"], default="basic")
        parser.add_argument("--read-only", action="store_true")
        parser.add_argument("--pool", help="login of an existing pool to add this account to")
        parser.add_argument(
            "--login-password-file", help="a JMAP login password different from the backend password (first line)"
        )
        parser.add_argument("--no-check", action="store_true", help="do not connect to the backend first")

    def handle(self, *args: Any, **options: Any) -> None:
        interactive = sys.stdin.isatty()
        password = password_read(
            path=options["password_file"], env=options["password_env"],
            prompt="Backend password: ", interactive=interactive,
        )
        login_password = None
        if options["login_password_file"]:
            login_password = password_read(
                path=options["login_password_file"], env=None, prompt="", interactive=False
            )
        try:
            account = account_create(
                accountid=options["accountid"],
                email=options["email"],
                password=password,
                kind=options["type"],
                name=options["name"],
                username=options["username"],
                imap_host=options["imap_host"],
                imap_port=options["imap_port"],
                imap_ssl=options["imap_ssl"],
                smtp_host=options["smtp_host"],
                smtp_port=options["smtp_port"],
                smtp_ssl=options["smtp_ssl"],
                caldav_url=options["caldav_url"],
                carddav_url=options["carddav_url"],
                session_url=options["session_url"],
                auth_type=options["auth_type"],
                is_read_only=options["read_only"],
                login_password=login_password,
                pool_login=options["pool"],
                check=not options["no_check"],
            )
        except ServiceError as exc:
            fields = getattr(exc, "fields", None)
            if fields:
                raise CommandError("; ".join(f"{api_field_name(k)}: {v}" for k, v in fields.items())) from None
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"created account {account.accountid} ({account.kind}) for login {account.pool.login}; "
            "its first sync is queued"
        )
