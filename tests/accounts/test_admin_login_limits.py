"""The dashboard's login (Django admin on the management port) counts failed
logins against the limits every password login has (accounts/admin_login.py):
an operator's password cannot be guessed at PBKDF2 speed."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from tests.servers.ports import PortClient

OPERATOR_PASSWORD = "operator-password-1"
LOGIN_LIMIT = 3


def _login(client: Client, password: str, *, address: str = "192.0.2.10") -> int:
    response = client.post(
        reverse("admin:login", urlconf=settings.MGMT_URLCONF),
        {"username": "operator", "password": password, "next": "/"},
        HTTP_X_FORWARDED_FOR=address,  # through a trusted reverse proxy on loopback (mgmt_client's peer)
    )
    return response.status_code


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_superuser("operator", "operator@example.test", OPERATOR_PASSWORD)


@override_settings(JMAP_AUTH_MAX_FAILURES_PER_LOGIN=LOGIN_LIMIT, JMAP_AUTH_MAX_FAILURES_PER_ADDRESS=100)
def test_guesses_past_the_limit_are_refused_even_with_the_right_password(
    operator: User, mgmt_client: Client, clean_cache: None
) -> None:
    assert [_login(mgmt_client, f"wrong-{n}") for n in range(LOGIN_LIMIT)] == [200] * LOGIN_LIMIT
    # The right password, from the address that guessed: refused like a wrong one (the form again, no session).
    assert _login(mgmt_client, OPERATOR_PASSWORD) == 200
    assert "_auth_user_id" not in mgmt_client.session


@override_settings(JMAP_AUTH_MAX_FAILURES_PER_LOGIN=LOGIN_LIMIT, JMAP_AUTH_MAX_FAILURES_PER_ADDRESS=100)
def test_the_operator_still_logs_in_from_another_address(
    operator: User, mgmt_client: Client, clean_cache: None
) -> None:
    for n in range(LOGIN_LIMIT + 2):
        _login(mgmt_client, f"wrong-{n}", address="192.0.2.66")
    assert _login(mgmt_client, OPERATOR_PASSWORD, address="192.0.2.10") == 302
    assert mgmt_client.session["_auth_user_id"] == str(operator.pk)


@override_settings(JMAP_AUTH_MAX_FAILURES_PER_LOGIN=LOGIN_LIMIT, JMAP_AUTH_MAX_FAILURES_PER_ADDRESS=100)
def test_a_successful_login_is_not_counted_as_a_failure(
    operator: User, mgmt_client: Client, clean_cache: None
) -> None:
    for _ in range(LOGIN_LIMIT + 2):
        assert _login(PortClient(settings.JMAP_MGMT_PORT, REMOTE_ADDR="127.0.0.1"), OPERATOR_PASSWORD) == 302
    assert _login(mgmt_client, OPERATOR_PASSWORD) == 302
