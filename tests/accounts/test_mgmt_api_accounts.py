"""POST/GET/PATCH/DELETE /api/accounts against a real Dovecot: the backend is
checked before anything is stored, errors name their cause or field, and no
response ever carries a password."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.test import RequestFactory

from accounts.auth import authenticate_request, pool_accounts
from accounts.models import Account, Pool
from accounts.secrets import unseal
from tests.accounts.mgmt import PortClient
from tests.servers.dovecot import DovecotServer, free_port

pytestmark = pytest.mark.django_db

ALICE = "alice@example.test"
BOB = "bob@example.test"


def imap_body(
    dovecot: DovecotServer, login: str, *, accountid: str, ssl: int = 2, **extra: object
) -> dict[str, object]:
    port = dovecot.imaps_port if ssl == 2 else dovecot.imap_port
    return {
        "accountid": accountid,
        "email": login,
        "type": "imap",
        "username": login,
        "password": dovecot.users[login],
        "imapHost": dovecot.host,
        "imapPort": port,
        "imapSSL": ssl,
        **extra,
    }


def basic_request(login: str, password: str) -> object:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return RequestFactory().get("/session", HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR="127.0.0.1")


@pytest.mark.parametrize("ssl", [0, 1, 2, 3])
def test_create_checks_the_real_server_in_every_ssl_mode(
    mgmt_api: PortClient, dovecot_tls_trust: DovecotServer, ssl: int
) -> None:
    body = imap_body(dovecot_tls_trust, ALICE, accountid=f"alice{ssl}", ssl=ssl)
    response = mgmt_api.post_json("/api/accounts", body)
    assert response.status_code == 201, response.content
    shown = response.json()
    assert shown["accountid"] == f"alice{ssl}"
    assert shown["imapSSL"] == ssl
    assert shown["pool"] == ALICE
    assert dovecot_tls_trust.users[ALICE] not in response.content.decode()
    assert "password" not in shown
    stored = Account.objects.get(accountid=f"alice{ssl}")
    assert unseal(stored.password) == dovecot_tls_trust.users[ALICE]
    # The JMAP login is the email with the backend password.
    pool = authenticate_request(basic_request(ALICE, dovecot_tls_trust.users[ALICE]))  # type: ignore[arg-type]
    assert list(pool_accounts(pool)) == [f"alice{ssl}"]
    Pool.objects.all().delete()


def test_wrong_backend_password_is_refused_with_the_servers_words(
    mgmt_api: PortClient, dovecot_tls_trust: DovecotServer
) -> None:
    body = imap_body(dovecot_tls_trust, ALICE, accountid="alice", password="not-her-password")
    response = mgmt_api.post_json("/api/accounts", body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "backendCheckFailed"
    assert answer["detail"] == f"IMAP login rejected for {ALICE}: [AUTHENTICATIONFAILED] Authentication failed."
    assert "not-her-password" not in response.content.decode()
    assert not Account.objects.exists() and not Pool.objects.exists()


def test_closed_port_is_reported_as_unreachable(mgmt_api: PortClient) -> None:
    port = free_port()
    body = {"accountid": "alice", "email": ALICE, "password": "x", "imapHost": "127.0.0.1",
            "imapPort": port, "imapSSL": 0}
    response = mgmt_api.post_json("/api/accounts", body)
    assert response.status_code == 502
    assert response.json() == {
        "error": "backendUnreachable", "detail": f"connection refused to 127.0.0.1:{port}", "backend": "imap",
    }
    assert not Account.objects.exists()


def test_check_false_skips_the_backend(mgmt_api: PortClient) -> None:
    body = {"accountid": "offline", "email": "off@example.test", "password": "pw", "imapHost": "127.0.0.1",
            "imapPort": free_port(), "imapSSL": 0, "check": False}
    response = mgmt_api.post_json("/api/accounts", body)
    assert response.status_code == 201, response.content
    assert Account.objects.get(accountid="offline").imap_port == body["imapPort"]


DAV_URL_RULE = "must be an http or https URL without user name or password in it"


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"imapSSL": 7}, "imapSSL", "must be 0, 1, 2 or 3"),
        ({"imapSSL": "2"}, "imapSSL", "Input should be a valid integer"),
        ({"imapPort": 70000}, "imapPort", "must be between 1 and 65535"),
        ({"email": None}, "email", "Input should be a valid string"),
        ({"type": "pop3"}, "type", "Input should be 'imap' or 'jmap'"),
        ({"imapSsl": 2}, "imapSsl", "unknown field"),
        ({"accountid": "no spaces"}, "accountid", "use 1-64 letters, digits, '-' or '_'"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"imapHost": ""}, "imapHost", "required for IMAP accounts"),
        ({"carddavURL": "https://alice:pw@dav.example.test/"}, "carddavURL", DAV_URL_RULE),
        ({"caldavURL": "ftp://dav.example.test/cal/"}, "caldavURL", DAV_URL_RULE),
    ],
)
def test_invalid_fields_are_named(mgmt_api: PortClient, change: dict[str, object], field: str, why: str) -> None:
    body = {"accountid": "alice", "email": ALICE, "password": "pw", "imapHost": "127.0.0.1", "check": False}
    body.update(change)
    response = mgmt_api.post_json("/api/accounts", body)
    assert response.status_code == 422, response.content
    answer = response.json()
    assert answer["error"] == "invalid"
    assert answer["fields"][field] == why
    assert not Account.objects.exists()


def test_missing_fields_are_named(mgmt_api: PortClient) -> None:
    response = mgmt_api.post_json("/api/accounts", {"accountid": "alice", "imapHost": "127.0.0.1"})
    assert response.status_code == 422
    assert response.json()["fields"] == {"email": "required", "password": "required"}


def test_malformed_json_is_400(mgmt_api: PortClient) -> None:
    response = mgmt_api.post("/api/accounts", data='{"accountid": "alice",', content_type="application/json")
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "badJson"
    assert "not valid JSON" in answer["detail"]


def test_body_must_be_declared_json(mgmt_api: PortClient) -> None:
    body = json.dumps({"accountid": "a", "email": ALICE, "password": "pw", "imapHost": "h", "check": False})
    response = mgmt_api.post("/api/accounts", data=body, content_type="text/plain")
    assert response.status_code == 415
    assert not Account.objects.exists()


def test_duplicate_accountid_is_409(mgmt_api: PortClient) -> None:
    body = {"accountid": "alice", "email": ALICE, "password": "pw", "imapHost": "127.0.0.1", "check": False}
    assert mgmt_api.post_json("/api/accounts", body).status_code == 201
    again = mgmt_api.post_json("/api/accounts", {**body, "email": "other@example.test"})
    assert again.status_code == 409
    assert again.json() == {"error": "exists", "detail": "account alice already exists"}


def test_second_account_joins_an_existing_pool(mgmt_api: PortClient, dovecot_tls_trust: DovecotServer) -> None:
    first = mgmt_api.post_json("/api/accounts", imap_body(dovecot_tls_trust, ALICE, accountid="alice"))
    assert first.status_code == 201, first.content
    # Without "pool", a second account for a login that exists is refused, with the way out.
    clash = mgmt_api.post_json("/api/accounts", imap_body(dovecot_tls_trust, ALICE, accountid="alice2"))
    assert clash.status_code == 409
    assert "set pool to" in clash.json()["detail"]
    joined = mgmt_api.post_json(
        "/api/accounts", imap_body(dovecot_tls_trust, BOB, accountid="bobwork", pool=ALICE)
    )
    assert joined.status_code == 201, joined.content
    assert joined.json()["pool"] == ALICE
    pool = authenticate_request(basic_request(ALICE, dovecot_tls_trust.users[ALICE]))  # type: ignore[arg-type]
    assert list(pool_accounts(pool)) == ["alice", "bobwork"]
    assert not Pool.objects.filter(login=BOB).exists()


def test_unknown_pool_is_a_field_error(mgmt_api: PortClient) -> None:
    body = {"accountid": "a", "email": ALICE, "password": "pw", "imapHost": "h", "pool": "nobody@example.test"}
    response = mgmt_api.post_json("/api/accounts", body)
    assert response.status_code == 422
    assert response.json()["fields"] == {"pool": "no login named 'nobody@example.test' exists"}


def test_login_password_separate_from_backend_password(
    mgmt_api: PortClient, dovecot_tls_trust: DovecotServer
) -> None:
    body = imap_body(dovecot_tls_trust, ALICE, accountid="alice", loginPassword="jmap-only-secret")
    assert mgmt_api.post_json("/api/accounts", body).status_code == 201
    pool = Pool.objects.get(login=ALICE)
    assert check_password("jmap-only-secret", pool.password_hash)
    assert not check_password(dovecot_tls_trust.users[ALICE], pool.password_hash)


def test_list_and_get(mgmt_api: PortClient) -> None:
    for name in ("carol", "dave"):
        body = {"accountid": name, "email": f"{name}@example.test", "password": f"{name}-pw",
                "imapHost": "127.0.0.1", "check": False}
        assert mgmt_api.post_json("/api/accounts", body).status_code == 201
    listed = mgmt_api.get("/api/accounts")
    assert listed.status_code == 200
    assert [a["accountid"] for a in listed.json()] == ["carol", "dave"]
    assert "carol-pw" not in listed.content.decode() and "dave-pw" not in listed.content.decode()
    one = mgmt_api.get("/api/accounts/dave").json()
    # README defaults: no port or SSL given -> implicit TLS on 993; SMTP STARTTLS on 587.
    assert (one["imapPort"], one["imapSSL"], one["smtpPort"], one["smtpSSL"]) == (993, 2, 587, 3)
    assert one["lastSyncError"] == "" and one["lastSyncAt"] is None
    missing = mgmt_api.get("/api/accounts/nobody")
    assert missing.status_code == 404
    assert missing.json() == {"error": "notFound", "detail": "no account nobody"}


def test_patch_changes_only_given_fields_and_rechecks(mgmt_api: PortClient, dovecot_tls_trust: DovecotServer) -> None:
    response = mgmt_api.post_json("/api/accounts", imap_body(dovecot_tls_trust, ALICE, accountid="alice"))
    assert response.status_code == 201
    renamed = mgmt_api.patch_json("/api/accounts/alice", {"name": "Alice A."})
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "Alice A." and renamed.json()["imapSSL"] == 2

    # Moving to another port needs the password in the same request (the stored
    # one never goes to a new destination)...
    move = {"imapPort": dovecot_tls_trust.imap_port, "imapSSL": 3}
    blind = mgmt_api.patch_json("/api/accounts/alice", move)
    assert blind.status_code == 422
    assert list(blind.json()["fields"]) == ["password"]
    assert Account.objects.get(accountid="alice").imap_port == dovecot_tls_trust.imaps_port
    # ...and moving to STARTTLS on the plain port with it is checked against the server.
    moved = mgmt_api.patch_json("/api/accounts/alice", {**move, "password": dovecot_tls_trust.users[ALICE]})
    assert moved.status_code == 200, moved.content
    assert (moved.json()["imapPort"], moved.json()["imapSSL"]) == (dovecot_tls_trust.imap_port, 3)

    wrong = mgmt_api.patch_json("/api/accounts/alice", {"password": "wrong-password"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"].startswith(f"IMAP login rejected for {ALICE}:")
    assert unseal(Account.objects.get(accountid="alice").password) == dovecot_tls_trust.users[ALICE]

    bad = mgmt_api.patch_json("/api/accounts/alice", {"imapSSL": 9, "accountid": "other"})
    assert bad.status_code == 422
    assert bad.json()["fields"] == {"imapSSL": "must be 0, 1, 2 or 3"}
    renaming_id = mgmt_api.patch_json("/api/accounts/alice", {"accountid": "other"})
    assert renaming_id.json()["fields"] == {"accountid": "cannot be changed"}
    assert mgmt_api.patch_json("/api/accounts/nobody", {"name": "x"}).status_code == 404


def test_patch_password_moves_the_login_password_along(
    mgmt_api: PortClient, dovecot_tls_trust: DovecotServer
) -> None:
    login = "carol@example.test"
    old = dovecot_tls_trust.user_add(login)
    response = mgmt_api.post_json("/api/accounts", imap_body(dovecot_tls_trust, login, accountid="carol"))
    assert response.status_code == 201
    new = dovecot_tls_trust.user_add(login)  # the mailbox password changed on the server
    response = mgmt_api.patch_json("/api/accounts/carol", {"password": new})
    assert response.status_code == 200, response.content
    assert new not in response.content.decode()
    pool = Pool.objects.get(login=login)
    assert check_password(new, pool.password_hash) and not check_password(old, pool.password_hash)
    assert unseal(Account.objects.get(accountid="carol").password) == new


def test_delete_removes_the_account_and_its_empty_login(mgmt_api: PortClient) -> None:
    body = {"accountid": "gone", "email": "gone@example.test", "password": "pw", "imapHost": "h", "check": False}
    assert mgmt_api.post_json("/api/accounts", body).status_code == 201
    response = mgmt_api.delete_json("/api/accounts/gone")
    assert response.status_code == 204
    assert mgmt_api.get("/api/accounts/gone").status_code == 404
    assert not Pool.objects.filter(login="gone@example.test").exists()
    assert mgmt_api.delete_json("/api/accounts/gone").status_code == 404


def test_delete_keeps_a_login_that_still_has_accounts(mgmt_api: PortClient) -> None:
    base = {"password": "pw", "imapHost": "h", "check": False}
    assert mgmt_api.post_json("/api/accounts", {**base, "accountid": "a1", "email": ALICE}).status_code == 201
    response = mgmt_api.post_json("/api/accounts", {**base, "accountid": "a2", "email": BOB, "pool": ALICE})
    assert response.status_code == 201
    assert mgmt_api.delete_json("/api/accounts/a1").status_code == 204
    assert list(Account.objects.filter(pool__login=ALICE).values_list("accountid", flat=True)) == ["a2"]


def test_sync_request_is_queued_for_a_worker(mgmt_api: PortClient) -> None:
    body = {"accountid": "syncme", "email": "s@example.test", "password": "pw", "imapHost": "h", "check": False}
    assert mgmt_api.post_json("/api/accounts", body).status_code == 201
    queue = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    before = set(queue.iterdir()) if queue.exists() else set()
    response = mgmt_api.post_empty("/api/accounts/syncme/sync")
    assert response.status_code == 202
    assert response.json() == {"accountid": "syncme", "queued": True, "lastSyncError": ""}
    new_messages = set(queue.iterdir()) - before
    assert len(new_messages) == 1
    assert mgmt_api.post_empty("/api/accounts/nobody/sync").status_code == 404


def test_management_api_is_not_on_the_jmap_port(jmap_port_client: PortClient) -> None:
    assert jmap_port_client.get("/api/accounts").status_code == 404
    body = {"accountid": "x", "email": ALICE, "password": "pw", "imapHost": "h", "check": False}
    assert jmap_port_client.post_json("/api/accounts", body).status_code == 404
    assert not Account.objects.exists()
