"""A fleet of accounts in every dashboard state, for the dashboard tests.

alice is in sync, bob is in his initial sync (a quarter done), carol's first
sync is queued, dave lags, mallory's server answers her failing syncs with
hostile HTML, erin's login is disabled.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts.models import Account, Pool
from accounts.sync_state import lag_threshold_seconds
from tests.personas import Persona, make_persona

HOSTILE_ERROR = (
    '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
    "\"'><b>NO [AUTHENTICATIONFAILED]</b> &amp; more"
)
BOB_PROGRESS = {
    "state": "running", "mailboxes": 13, "done": 3, "messages": 5000, "total": 20000, "folder": "<i>Archive</i>",
}  # fmt: skip


@dataclass
class Fleet:
    now: datetime
    alice: Persona
    bob: Persona
    carol: Persona
    dave: Persona
    mallory: Persona
    erin: Persona


def fleet_make(*, now: datetime) -> Fleet:
    def with_fields(persona: Persona, **fields: object) -> Persona:
        Account.objects.filter(pk=persona.account.pk).update(**fields)
        persona.account.refresh_from_db()
        return persona

    erin = make_persona("erin")
    Pool.objects.filter(pk=erin.pool.pk).update(is_active=False)
    return Fleet(
        now=now,
        alice=with_fields(make_persona("alice"), last_sync_at=now - timedelta(seconds=4)),
        bob=with_fields(make_persona("bob"), sync_progress=BOB_PROGRESS),
        carol=make_persona("carol"),
        dave=with_fields(make_persona("dave"), last_sync_at=now - timedelta(seconds=4 * lag_threshold_seconds())),
        mallory=with_fields(
            make_persona("mallory"),
            last_sync_at=now - timedelta(hours=3),
            last_sync_error=HOSTILE_ERROR,
            last_sync_error_at=now - timedelta(seconds=20),
        ),
        erin=erin,
    )
