"""Review finding in the push relay (backends.jmap.push_relay, fixed by its
owner in 389527a): an upstream error was kept as `str(exc)` in the relay's
status (written to run/jmap-relay-<pid>.json) and logged; httpx's
LocalProtocolError for a stored bearer token with a trailing newline quotes
the Authorization header, token included.

alice's passthrough account on the suite's Cyrus has its Session stored,
then its token replaced by one with a trailing newline; the relay runs
once against it.
"""
from __future__ import annotations

import logging
import secrets

import pytest

from accounts.secret_fields import account_secret_set
from backends.jmap.client import upstream_client, upstream_clients_clear
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.backends.jmap.push_helpers import relay_error_first
from tests.servers.cyrus import CyrusServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]


def test_the_relay_never_records_a_token_that_is_no_header_value(
    cyrus: CyrusServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user = cyrus.user("alice-r1-relay", "alice-r1-relay-pw")
    account = passthrough_account_make(accountid=f"alicer1r{secrets.token_hex(3)}", user=user)
    upstream_client(account).session_refresh()
    account.refresh_from_db()
    token = f"tok-r1-relay-{secrets.token_hex(8)}"
    account.auth_type = "bearer"
    account_secret_set(account=account, field="password", value=token + "\n")
    account.save()
    upstream_clients_clear()

    error = relay_error_first(account_pk=account.pk)
    assert error, "the relay recorded no error"
    assert token not in error
    assert token not in caplog.text
