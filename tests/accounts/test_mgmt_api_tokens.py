"""Bearer tokens through the management API: issued once in plaintext, listed
without secrets, and useless to a JMAP client once revoked."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from accounts.auth import AuthenticationFailed, authenticate_request
from accounts.models import ApiToken
from tests.accounts.mgmt import PortClient
from tests.personas import Persona

pytestmark = pytest.mark.django_db


def bearer_request(token: str) -> object:
    return RequestFactory().get("/session", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="127.0.0.1")


def test_issue_list_revoke(mgmt_api: PortClient, alice: Persona) -> None:
    issued = mgmt_api.post_json(f"/api/accounts/{alice.account_id}/tokens", {"name": "phone"})
    assert issued.status_code == 201, issued.content
    body = issued.json()
    plaintext = body["token"]
    assert body["name"] == "phone" and body["pool"] == alice.login
    assert plaintext.startswith(body["prefix"])
    assert authenticate_request(bearer_request(plaintext)) == alice.pool  # type: ignore[arg-type]

    listed = mgmt_api.get(f"/api/accounts/{alice.account_id}/tokens")
    assert listed.status_code == 200
    tokens = {t["id"]: t for t in listed.json()}
    assert set(tokens[body["id"]]) == {
        "id", "name", "prefix", "pool", "created", "expiresAt", "lastUsedAt", "lastUsedIp", "revokedAt",
    }
    assert tokens[body["id"]]["lastUsedIp"] == "127.0.0.1"
    assert plaintext not in listed.content.decode()
    stored_hash = ApiToken.objects.get(pk=body["id"]).token_hash
    assert stored_hash not in listed.content.decode()

    revoked = mgmt_api.delete_json(f"/api/tokens/{body['id']}")
    assert revoked.status_code == 204
    with pytest.raises(AuthenticationFailed) as failure:
        authenticate_request(bearer_request(plaintext))  # type: ignore[arg-type]
    assert failure.value.status == 401
    after = {t["id"]: t for t in mgmt_api.get(f"/api/accounts/{alice.account_id}/tokens").json()}
    assert after[body["id"]]["revokedAt"] is not None
    # The persona's own token is untouched.
    assert authenticate_request(bearer_request(alice.token)) == alice.pool  # type: ignore[arg-type]


def test_body_is_optional_and_expiry_is_kept(mgmt_api: PortClient, alice: Persona) -> None:
    bare = mgmt_api.post_empty(f"/api/accounts/{alice.account_id}/tokens")
    assert bare.status_code == 201, bare.content
    assert bare.json()["name"] == "" and bare.json()["expiresAt"] is None
    when = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    dated = mgmt_api.post_json(f"/api/accounts/{alice.account_id}/tokens", {"expiresAt": when.isoformat()})
    assert dated.status_code == 201, dated.content
    assert ApiToken.objects.get(pk=dated.json()["id"]).expires_at == when


@pytest.mark.parametrize(
    ("body", "field", "why"),
    [
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt", "must be in the future"),
        ({"expiresAt": "2999-01-01T00:00:00"}, "expiresAt", "must include a time zone offset"),
        ({"name": 5}, "name", "Input should be a valid string"),
        ({"secret": "x"}, "secret", "unknown field"),
    ],
)
def test_bad_token_requests_name_the_field(
    mgmt_api: PortClient, alice: Persona, body: dict[str, object], field: str, why: str
) -> None:
    response = mgmt_api.post_json(f"/api/accounts/{alice.account_id}/tokens", body)
    assert response.status_code == 422
    assert response.json()["fields"][field].startswith(why)


def test_tokens_belong_to_the_login_not_to_one_account(mgmt_api: PortClient, alice: Persona, bob: Persona) -> None:
    issued = mgmt_api.post_empty(f"/api/accounts/{bob.account_id}/tokens").json()
    alice_tokens = [t["id"] for t in mgmt_api.get(f"/api/accounts/{alice.account_id}/tokens").json()]
    assert issued["id"] not in alice_tokens
    assert authenticate_request(bearer_request(issued["token"])) == bob.pool  # type: ignore[arg-type]


def test_unknown_ids_are_404(mgmt_api: PortClient) -> None:
    assert mgmt_api.post_empty("/api/accounts/nobody/tokens").status_code == 404
    assert mgmt_api.get("/api/accounts/nobody/tokens").status_code == 404
    assert mgmt_api.delete_json("/api/tokens/999999").status_code == 404
    not_a_number = mgmt_api.delete_json("/api/tokens/abc")
    assert not_a_number.status_code == 422
    assert "token_id" in not_a_number.json()["fields"]
