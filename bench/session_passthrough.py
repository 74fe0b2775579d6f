"""Session resource figures with passthrough accounts: what GET /session costs.

Usage: .venv/bin/python bench/session_passthrough.py [--runs 200] [--upstream-accounts 3]
                                                      [--module jmapcore.session_object]

In this process, on the embedded defaults (SQLite in a temporary data
directory): a login with one IMAP account, and a login with one IMAP account
plus one JMAP passthrough account whose stored upstream Session lists
N upstream accounts (UpstreamAccount rows, as backends.jmap.session_store
writes them; no upstream server is called -- the Session GET never calls
one). Prints the median and 90th percentile of `--runs` timings of
- session_object_build() for each login,
- GET /session on the JMAP port (Basic auth, so the password check is
  included: the figure a client sees, minus the network).
`--module` names the module whose session_object_build is timed (to compare
with an older version copied elsewhere on sys.path).
"""
from __future__ import annotations

import argparse
import base64
import importlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["JMAP_DATADIR"] = tempfile.mkdtemp(prefix="jmap-bench-session-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")

MAIL = "urn:ietf:params:jmap:mail"
SIEVE = "https://cyrusimap.org/ns/jmap/sieve"


def timings_ms(func: Callable[[], object], runs: int) -> tuple[float, float]:
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        values.append((time.perf_counter() - started) * 1000)
    values.sort()
    return statistics.median(values), values[int(len(values) * 0.9) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--upstream-accounts", type=int, default=3)
    parser.add_argument("--module", default="jmapcore.session_object")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.test import Client

    from accounts.auth import pool_accounts
    from accounts.models import Account, Pool, UpstreamAccount

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    build = importlib.import_module(args.module).session_object_build
    password = "bench-password"  # noqa: S105 - a throw-away login of a temporary database
    logins = {}
    for login, passthrough in (("imap-only@example.test", False), ("mixed@example.test", True)):
        pool = Pool.objects.create(login=login, password_hash=make_password(password))
        prefix = login.split("@")[0]
        Account.objects.create(accountid=f"{prefix}-imap", pool=pool, email=login, imap_host="127.0.0.1")
        if passthrough:
            account = Account.objects.create(
                accountid=f"{prefix}-jmap", pool=pool, email=login, kind=Account.Kind.JMAP,
                session_url="https://jmap.example/.well-known/jmap",
                upstream_session={"capabilities": {MAIL: {}, SIEVE: {}}, "state": "s1",
                                  "primaryAccounts": {MAIL: "u0"}, "accounts": {}},
            )
            for n in range(args.upstream_accounts):
                UpstreamAccount.objects.create(
                    account=account, upstream_id=f"u{n}", proxy_id=f"{prefix}-jmap" if n == 0 else f"{prefix}-u{n}",
                    name=f"upstream {n}", is_personal=n == 0, is_read_only=n > 0, position=n,
                    capabilities={MAIL: {"maxMailboxesPerEmail": 20}, SIEVE: {"maxNumberScripts": 5}},
                )
        logins[login] = pool

    client = Client()
    print(f"Session GET, median / p90 of {args.runs} runs, {args.module}:")
    for login, pool in logins.items():
        accounts = pool_accounts(pool)

        def build_once(pool: Pool = pool, accounts: dict[str, Account] = accounts) -> object:
            return build(pool=pool, accounts=accounts)

        median, p90 = timings_ms(build_once, args.runs)
        print(f"  {login:24} session_object_build  {median:6.3f} ms / {p90:6.3f} ms")
        header = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
        response = client.get("/session", HTTP_AUTHORIZATION=header, SERVER_PORT=str(settings.JMAP_PORT))
        assert response.status_code == 200, response.content[:300]

        def get_once(header: str = header) -> object:
            return client.get("/session", HTTP_AUTHORIZATION=header, SERVER_PORT=str(settings.JMAP_PORT))

        median, p90 = timings_ms(get_once, args.runs)
        print(f"  {login:24} GET /session          {median:6.3f} ms / {p90:6.3f} ms "
              f"({len(response.json()['accounts'])} accounts)")


if __name__ == "__main__":
    main()
