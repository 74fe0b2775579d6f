"""`manage.py runproxy`: prepare the data directory and start every process.

Embedded default (the all-in-one `make run`): web (uvicorn, both ports) and one
Celery worker that also runs the beat schedule and the IMAP IDLE listener, on
SQLite and the filesystem queue in $JMAP_DATADIR. In scale-out, run web-only
processes (--web-only) and workers (--worker-only) as often as needed, and
exactly one --beat-only.

This command does what needs Django (the run lock, migrations, the first-start
notices), then replaces itself with the Django-free supervisor
(jmapsite.supervisor): same pid, the run lock still held.
"""
from __future__ import annotations

import logging
import os
import secrets
import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from jmapsite.mgmt_token import mgmt_token_notice
from jmapsite.process_specs import embedded_specs, role_specs
from jmapsite.run_lock import DatadirBusy, run_lock_acquire
from jmapsite.supervisor import Plan, supervisor_argv, supervisor_state_file

# The all-in-one start's console: warnings and errors only, unless JMAP_LOG_LEVEL says otherwise.
EMBEDDED_LOG_LEVEL = "WARNING"

log = logging.getLogger("jmap.supervisor")


def admin_bootstrap() -> str | None:
    """Create the first dashboard user; return the file holding its password.

    The password is written to a 0600 file, never to the log.
    """
    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(18)
    path = settings.DATADIR / "admin-password"
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    user_model.objects.create_superuser(username="admin", email="", password=password)
    return str(path)


class Command(BaseCommand):
    help = "Start jmap-proxy: the JMAP and management ports, the Celery worker, the schedule and the IDLE listener."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--web-only", action="store_true", help="only the web process (scale-out)")
        parser.add_argument("--worker-only", action="store_true", help="only a Celery worker (scale-out)")
        parser.add_argument("--beat-only", action="store_true", help="only Celery beat (run exactly one)")
        parser.add_argument(
            "--listener-only", action="store_true", help="only the IMAP IDLE listener (--worker-only starts one too)"
        )
        parser.add_argument("--no-setup", action="store_true", help="skip migrations and collectstatic")
        parser.add_argument("--worker-concurrency", type=int, default=4)

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.JMAP_PORT == settings.JMAP_MGMT_PORT:
            raise CommandError("JMAP_PORT and JMAP_MGMT_PORT must differ")
        only = [k for k in ("web_only", "worker_only", "beat_only", "listener_only") if options[k]]
        if len(only) > 1:
            raise CommandError("choose at most one of --web-only, --worker-only, --beat-only, --listener-only")
        # Before anything touches the data directory (migrations included); held
        # until this process exits (jmapsite.run_lock).
        try:
            self.run_lock = run_lock_acquire(datadir=settings.DATADIR, shared=bool(only))
        except DatadirBusy as exc:
            raise CommandError(str(exc)) from None
        if not options["no_setup"]:
            self.prepare()
        # Unset, JMAP_LOG_LEVEL is WARNING for the all-in-one start (a quiet
        # console) and INFO for a scale-out role (jmapsite.settings).
        log_level = settings.JMAP_LOG_LEVEL if only or os.environ.get("JMAP_LOG_LEVEL") else EMBEDDED_LOG_LEVEL
        where = {
            "jmap_host": "0.0.0.0",  # noqa: S104 - the JMAP port is public by design
            "jmap_port": settings.JMAP_PORT,
            "mgmt_host": settings.JMAP_MGMT_HOST,
            "mgmt_port": settings.JMAP_MGMT_PORT,
            "concurrency": options["worker_concurrency"],
            "log_level": log_level,
        }
        if only:
            specs = role_specs(role=only[0].removesuffix("_only"), datadir=settings.DATADIR, **where)
        else:
            specs = embedded_specs(**where)
        if not only or options["web_only"]:
            self.stdout.write(
                f"jmap-proxy: JMAP at {settings.BASEURL}/.well-known/jmap (port {settings.JMAP_PORT}), "
                f"dashboard at http://{settings.JMAP_MGMT_HOST}:{settings.JMAP_MGMT_PORT}/"
            )
            notice = mgmt_token_notice(configured=settings.ENV.mgmt_token, datadir=settings.DATADIR)
            if notice:  # where the token is, never the token itself
                self.stdout.write(notice)
        # Role processes of scale-out may share the data directory: one state file each.
        plan = Plan(
            children=specs,
            state_file=supervisor_state_file(datadir=settings.DATADIR, pid=os.getpid() if only else None),
            log_level=log_level,
            child_env={"JMAP_LOG_LEVEL": log_level},
            lock_fd=self.run_lock.fd,
            lock_shared=self.run_lock.shared,
        )
        self.exec_supervisor(plan)

    def exec_supervisor(self, plan: Plan) -> None:
        """Become the supervisor (see the module doc); never returns."""
        connections.close_all()
        os.set_inheritable(plan.lock_fd, True)  # the lock lives on in the same process
        self.stdout.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        argv = supervisor_argv(plan)
        os.execv(argv[0], argv)  # noqa: S606 - our own interpreter and module

    def prepare(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
            call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        password_file = admin_bootstrap()
        if password_file:
            self.stdout.write(
                f"First start: dashboard user 'admin' created; its password is in {password_file} "
                "(change it in the dashboard, then delete the file)."
            )
        self.credential_key_notice()
        from jmapsite.schedule import periodic_tasks_install

        periodic_tasks_install()

    def credential_key_notice(self) -> None:
        """Create the generated credential key at the first start and say where it
        is (never the key): stored credentials are unreadable without it."""
        env = settings.ENV
        if env.secret_key or env.openbao_addr:
            return
        from accounts.crypto.keys import generated_key_ensure, generated_key_path

        path = generated_key_path(datadir=env.datadir)
        if generated_key_ensure(datadir=env.datadir):
            self.stdout.write(
                f"First start: stored credentials are encrypted with a key generated in {path} "
                "(readable by you only); back it up together with the database."
            )
        if env.database_url:
            self.stdout.write(
                f"Warning: DATABASE_URL is set but JMAP_SECRET_KEY and JMAP_OPENBAO_ADDR are not: credentials are "
                f"encrypted with {path}, which other nodes do not have. Set the same JMAP_SECRET_KEY on every node."
            )
