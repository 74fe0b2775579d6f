"""The operator's dashboard (Django admin at the management root): lists,
filters, secrets never shown, a new password sealed on save, and the
"Sync now" / "Revoke tokens" actions doing real work."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, ApiToken, SslMode
from accounts.secret_fields import account_secret_set
from accounts.secrets import unseal
from accounts.tokens import token_issue
from jmapsite.celery import app as celery_app
from tests.accounts.conftest import SetEnv
from tests.personas import Persona

OPERATOR_PASSWORD = "operator-password-1"


def admin_url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args, urlconf=settings.MGMT_URLCONF)


@pytest.fixture
def operator(db: None, mgmt_client: Client) -> Client:
    """mgmt_client logged in through the admin login form as a superuser."""
    User.objects.create_superuser("operator", "operator@example.test", OPERATOR_PASSWORD)
    response = mgmt_client.post(
        admin_url("login"), {"username": "operator", "password": OPERATOR_PASSWORD, "next": "/"}
    )
    assert response.status_code == 302, response.content[:500]
    return mgmt_client


@pytest.fixture
def celery_eager() -> Iterator[None]:
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def change_form_data(account: Account, **changes: Any) -> dict[str, Any]:
    """The POST body of the account change form with the current values."""
    data: dict[str, Any] = {
        name: getattr(account, name)
        for name in (
            "accountid", "email", "name", "kind", "username", "auth_type", "imap_host", "imap_port",
            "imap_ssl", "smtp_host", "smtp_port", "smtp_ssl", "caldav_url", "carddav_url", "session_url",
        )
    }  # fmt: skip
    data["pool"] = account.pool_id
    if account.is_read_only:
        data["is_read_only"] = "on"
    data["_save"] = "Save"
    data.update(changes)
    return data


# --- access ------------------------------------------------------------------


def test_dashboard_needs_a_staff_login(mgmt_client: Client, db: None) -> None:
    response = mgmt_client.get(admin_url("accounts_account_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(admin_url("login"))


def test_dashboard_is_titled_jmap_proxy(operator: Client) -> None:
    response = operator.get(admin_url("index"))
    assert response.status_code == 200
    assert b"<title>Dashboard | jmap-proxy</title>" in response.content
    assert b"jmap-proxy" in response.content


@pytest.mark.parametrize("path", ["/", "/login/", "/accounts/account/", "/django_celery_beat/periodictask/"])
def test_dashboard_is_not_on_the_jmap_port(jmap_client: Client, db: None, path: str) -> None:
    response = jmap_client.get(path)
    if path == "/":  # the JMAP port's landing page, not the dashboard
        assert b'id="site-name"' not in response.content
    else:
        assert response.status_code == 404


# --- pools -------------------------------------------------------------------


def test_pool_list_counts_accounts_and_tokens(operator: Client, alice: Persona, bob: Persona) -> None:
    token_issue(pool=alice.pool, name="second")
    Account.objects.create(accountid="alice-work", pool=alice.pool, email="alice@work.test")
    response = operator.get(admin_url("accounts_pool_changelist"))
    assert response.status_code == 200
    rows = {
        pool.login: (pool._account_count, pool._token_count)
        for pool in response.context["cl"].result_list
    }
    assert rows == {alice.login: (2, 2), bob.login: (1, 1)}
    assert b"alice@example.test" in response.content


def test_pool_search(operator: Client, alice: Persona, bob: Persona) -> None:
    response = operator.get(admin_url("accounts_pool_changelist"), {"q": "bob@"})
    assert [p.login for p in response.context["cl"].result_list] == [bob.login]


def test_pool_change_form_hides_the_hash_and_sets_a_new_password(operator: Client, alice: Persona) -> None:
    url = admin_url("accounts_pool_change", alice.pool.pk)
    page = operator.get(url)
    assert page.status_code == 200
    assert alice.pool.password_hash.encode() not in page.content
    response = operator.post(url, {"login": alice.login, "is_active": "on", "new_password": "fresh-login-pw"})
    assert response.status_code == 302
    alice.pool.refresh_from_db()
    from django.contrib.auth.hashers import check_password

    assert check_password("fresh-login-pw", alice.pool.password_hash)


# --- accounts ----------------------------------------------------------------


def test_account_list_shows_the_columns(operator: Client, alice: Persona, bob: Persona) -> None:
    Account.objects.filter(pk=alice.account.pk).update(
        last_sync_error="imap: connection refused to 127.0.0.1:993 " + "x" * 200, last_sync_error_at=timezone.now()
    )
    Account.objects.filter(pk=bob.account.pk).update(last_sync_at=timezone.now() - timedelta(hours=2))
    response = operator.get(admin_url("accounts_account_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    for header in ("Accountid", "Email", "Kind", "Backend host", "Last sync at", "Sync lag", "Last error", "Pool"):
        assert f">{header}<" in html, header
    assert "alice@example.test" in html and "127.0.0.1" in html
    assert "never synced" in html  # alice
    assert "2\xa0hours" in html  # bob's lag
    assert "imap: connection refused to 127.0.0.1:993" in html
    assert "x" * 200 not in html  # truncated


def test_account_list_filters_and_search(operator: Client, alice: Persona, bob: Persona) -> None:
    Account.objects.filter(pk=alice.account.pk).update(last_sync_error="boom", last_sync_error_at=timezone.now())
    url = admin_url("accounts_account_changelist")

    def listed(**params: str) -> list[str]:
        response = operator.get(url, params)
        assert response.status_code == 200
        return [a.accountid for a in response.context["cl"].result_list]

    assert listed(has_error="yes") == ["alice"]
    assert listed(has_error="no") == ["bob"]
    assert listed(kind__exact="imap") == ["alice", "bob"]
    assert listed(kind__exact="jmap") == []
    assert listed(pool__id__exact=str(bob.pool.pk)) == ["bob"]
    assert listed(q="bob@example.test") == ["bob"]


def test_change_form_never_shows_secrets(operator: Client, alice: Persona, set_env: SetEnv) -> None:
    from tests.accounts.conftest import HEX_KEY

    set_env(secret_key=HEX_KEY, openbao_addr="")
    account_secret_set(account=alice.account, field="password", value="backend-secret-123")
    Account.objects.filter(pk=alice.account.pk).update(oauth_access_token="oauth-plain-token-456")
    alice.account.refresh_from_db()
    ciphertext = alice.account.password
    assert ciphertext.startswith("enc1:")

    response = operator.get(admin_url("accounts_account_change", alice.account.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "backend-secret-123" not in html
    assert ciphertext not in html
    assert ciphertext[5:25] not in html
    assert "oauth-plain-token-456" not in html
    assert "set (enc1)" in html  # password
    assert "set (plaintext)" in html  # access token
    assert "unset" in html  # refresh token
    assert 'name="password"' not in html
    assert 'name="new_password"' in html


def test_a_new_password_is_sealed_with_the_active_scheme(
    operator: Client, alice: Persona, set_env: SetEnv
) -> None:
    from tests.accounts.conftest import HEX_KEY

    set_env(secret_key=HEX_KEY, openbao_addr="")
    url = admin_url("accounts_account_change", alice.account.pk)
    response = operator.post(url, change_form_data(alice.account, new_password="brand-new-pw"))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    alice.account.refresh_from_db()
    assert alice.account.password.startswith("enc1:")
    assert unseal(alice.account.password) == "brand-new-pw"
    stored = alice.account.password

    # Saving without a new password keeps the stored value as it is.
    response = operator.post(url, change_form_data(alice.account, name="Alice Liddell"))
    assert response.status_code == 302
    alice.account.refresh_from_db()
    assert alice.account.password == stored
    assert alice.account.name == "Alice Liddell"


def test_the_stored_password_can_be_removed(operator: Client, alice: Persona) -> None:
    url = admin_url("accounts_account_change", alice.account.pk)
    response = operator.post(url, change_form_data(alice.account, clear_password="on"))
    assert response.status_code == 302
    alice.account.refresh_from_db()
    assert alice.account.password == ""


def test_setting_and_removing_at_once_is_refused(operator: Client, alice: Persona) -> None:
    url = admin_url("accounts_account_change", alice.account.pk)
    response = operator.post(url, change_form_data(alice.account, clear_password="on", new_password="x"))
    assert response.status_code == 200
    assert b"Either set a new password or remove it" in response.content
    alice.account.refresh_from_db()
    assert alice.account.password == alice.password


@pytest.mark.parametrize(
    "changes",
    [{"imap_host": "imap.mallory.example"}, {"smtp_port": 2525}, {"imap_ssl": 0}],
    ids=["imap_host", "smtp_port", "imap_ssl-plain"],
)
def test_a_new_destination_needs_the_password_in_the_same_change(
    operator: Client, alice: Persona, changes: dict[str, Any]
) -> None:
    """The stored password never goes to a server the operator just typed in
    (or in plain text) unless the same form carries the password."""
    url = admin_url("accounts_account_change", alice.account.pk)
    stored = alice.account.password
    before = {name: getattr(alice.account, name) for name in changes}
    response = operator.post(url, change_form_data(alice.account, **changes))
    assert response.status_code == 200
    assert b"the stored password is never sent to a new destination" in response.content
    alice.account.refresh_from_db()
    assert {name: getattr(alice.account, name) for name in changes} == before
    assert alice.account.password == stored

    response = operator.post(url, change_form_data(alice.account, new_password="for-the-new-server", **changes))
    assert response.status_code == 302
    alice.account.refresh_from_db()
    assert {name: getattr(alice.account, name) for name in changes} == changes
    assert unseal(alice.account.password) == "for-the-new-server"


def test_sync_now_runs_the_sync(operator: Client, alice: Persona, bob: Persona, celery_eager: None) -> None:
    port = closed_port()
    Account.objects.filter(pk=alice.account.pk).update(imap_port=port, imap_ssl=SslMode.PLAIN)
    response = operator.post(
        admin_url("accounts_account_changelist"),
        {"action": "sync_now", "_selected_action": [str(alice.account.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Queued a sync of 1 account(s)." in response.content
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error == f"imap: connection refused to 127.0.0.1:{port}"
    assert alice.account.last_sync_error_at is not None
    bob.account.refresh_from_db()
    assert bob.account.last_sync_error_at is None  # not selected


def test_revoke_tokens_from_the_account_list(
    operator: Client, jmap_client: Client, alice: Persona, bob: Persona
) -> None:
    response = operator.post(
        admin_url("accounts_account_changelist"),
        {"action": "revoke_tokens", "_selected_action": [str(alice.account.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Revoked 1 bearer token(s) of 1 login(s)" in response.content
    assert not ApiToken.objects.filter(pool=alice.pool, revoked_at__isnull=True).exists()
    assert ApiToken.objects.filter(pool=bob.pool, revoked_at__isnull=True).count() == 1
    # The revoked token no longer opens the JMAP session; bob's still does.
    assert jmap_client.get("/session", HTTP_AUTHORIZATION=alice.bearer).status_code == 401
    assert jmap_client.get("/session", HTTP_AUTHORIZATION=bob.bearer).status_code == 200


def test_revoke_tokens_from_the_pool_list(operator: Client, alice: Persona, bob: Persona) -> None:
    operator.post(
        admin_url("accounts_pool_changelist"),
        {"action": "revoke_tokens", "_selected_action": [str(bob.pool.pk)]},
    )
    assert not ApiToken.objects.filter(pool=bob.pool, revoked_at__isnull=True).exists()
    assert ApiToken.objects.filter(pool=alice.pool, revoked_at__isnull=True).count() == 1


# --- tokens ------------------------------------------------------------------


def test_token_list_and_page_never_show_the_hash(operator: Client, alice: Persona) -> None:
    token = ApiToken.objects.get(pool=alice.pool)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now(), last_used_ip="192.0.2.7")
    listing = operator.get(admin_url("accounts_apitoken_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    for header in ("Prefix", "Pool", "Name", "Created at", "Last used at", "Last used ip", "Revoked"):
        assert f">{header}<" in html, header
    assert token.prefix in html and "192.0.2.7" in html
    assert token.token_hash not in html
    page = operator.get(admin_url("accounts_apitoken_change", token.pk))
    assert page.status_code == 200
    assert token.token_hash not in page.content.decode()
    assert alice.token not in page.content.decode()


def test_tokens_cannot_be_added_from_the_dashboard(operator: Client, db: None) -> None:
    assert operator.get(admin_url("accounts_apitoken_add")).status_code == 403


def test_revoke_selected_tokens(operator: Client, alice: Persona, bob: Persona) -> None:
    token = ApiToken.objects.get(pool=alice.pool)
    response = operator.post(
        admin_url("accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [str(token.pk)]},
        follow=True,
    )
    assert b"Revoked 1 token(s)." in response.content
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiToken.objects.get(pool=bob.pool).revoked_at is None


def test_the_account_id_is_fixed_once_created(operator: Client, alice: Persona) -> None:
    url = admin_url("accounts_account_change", alice.account.pk)
    response = operator.post(url, change_form_data(alice.account, accountid="renamed"))
    assert response.status_code == 302
    alice.account.refresh_from_db()
    assert alice.account.accountid == "alice"
