"""backends.jmap.client against a real Cyrus IMAP 3.6 (tests/servers/cyrus.py).

alice is a Cyrus user with a passthrough Account on the proxy; the client
must find Cyrus's relative URLs after the /.well-known/jmap redirect, forward
a Request, and turn every kind of failure into an UpstreamError that names
what went wrong without the password.
"""
from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from accounts.models import Account
from backends.jmap.client import UpstreamClient, UpstreamError, upstream_client
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.dovecot import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_upstream_clients")]

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


@pytest.fixture
def alice_cyrus(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user("alice-q1-client", "alice-client-pw")


@pytest.fixture
def alice(alice_cyrus: CyrusUser) -> Account:
    return passthrough_account_make(accountid="alice", user=alice_cyrus)


def test_relative_urls_are_resolved_against_the_url_after_the_redirect(cyrus: CyrusServer, alice: Account) -> None:
    session = upstream_client(alice).session()
    # Cyrus says "/jmap/" etc.; the Session was read at /jmap after a 301 from /.well-known/jmap.
    assert session.api_url == f"{cyrus.base_url}/jmap/"
    assert session.download_url == f"{cyrus.base_url}/jmap/download/{{accountId}}/{{blobId}}/{{name}}?accept={{type}}"
    assert session.upload_url == f"{cyrus.base_url}/jmap/upload/{{accountId}}/"
    assert session.event_source_url.startswith(f"{cyrus.base_url}/jmap/eventsource/?types={{types}}")
    assert CORE in session.capabilities
    alice.refresh_from_db()
    assert alice.upstream_session["apiUrl"] == f"{cyrus.base_url}/jmap/"


def test_api_post_forwards_a_request(alice: Account, alice_cyrus: CyrusUser) -> None:
    response = upstream_client(alice).api_post({
        "using": [CORE, MAIL],
        "methodCalls": [["Mailbox/get", {"accountId": alice_cyrus.login, "properties": ["role"]}, "0"]],
    })
    name, arguments, call_id = response["methodResponses"][0]
    assert (name, call_id) == ("Mailbox/get", "0")
    assert [mailbox["role"] for mailbox in arguments["list"]] == ["inbox"]


def test_a_wrong_password_is_a_permanent_401(alice_cyrus: CyrusUser) -> None:
    account = passthrough_account_make(accountid="alice", user=alice_cyrus, password="not-her-password-xyz")
    with pytest.raises(UpstreamError) as caught:
        upstream_client(account).session()
    error = caught.value
    assert error.status == 401
    assert error.permanent and not error.timed_out
    assert error.kind == "jmap"
    assert "not-her-password-xyz" not in str(error)
    account.refresh_from_db()
    assert account.upstream_session == {}


def test_a_closed_port_is_a_transport_error(alice_cyrus: CyrusUser) -> None:
    url = f"http://127.0.0.1:{free_port()}/.well-known/jmap"
    account = passthrough_account_make(accountid="alice", user=alice_cyrus, session_url=url)
    with pytest.raises(UpstreamError) as caught:
        upstream_client(account).session()
    assert caught.value.status is None
    assert not caught.value.permanent and not caught.value.timed_out
    assert "connection refused" in str(caught.value)


def test_an_empty_answer_is_not_a_session(cyrus: CyrusServer, alice_cyrus: CyrusUser) -> None:
    # Cyrus answers GET on an upload URL with 204 and no body: a 2xx that is no Session.
    url = f"{cyrus.base_url}/jmap/upload/{alice_cyrus.login}/"
    account = passthrough_account_make(accountid="alice", user=alice_cyrus, session_url=url)
    with pytest.raises(UpstreamError, match="did not return a JMAP Session"):
        upstream_client(account).session()


def test_an_html_404_is_an_error_with_its_status(cyrus: CyrusServer, alice_cyrus: CyrusUser) -> None:
    account = passthrough_account_make(accountid="alice", user=alice_cyrus, session_url=f"{cyrus.base_url}/nope")
    with pytest.raises(UpstreamError) as caught:
        upstream_client(account).session()
    assert caught.value.status == 404 and caught.value.problem is None


def test_a_json_answer_without_method_responses_is_not_a_response(cyrus: CyrusServer, alice: Account,
                                                                  alice_cyrus: CyrusUser) -> None:
    client = upstream_client(alice)
    client.session()
    # Point apiUrl at the upload endpoint: Cyrus stores the body as a blob and
    # answers with JSON that is no JMAP Response.
    alice.upstream_session = {**alice.upstream_session,
                              "apiUrl": f"{cyrus.base_url}/jmap/upload/{alice_cyrus.login}/"}
    with pytest.raises(UpstreamError, match="not return a JMAP Response"):
        client.api_post({"using": [CORE], "methodCalls": [["Core/echo", {}, "0"]]})


def test_a_request_error_carries_the_problem_document(alice: Account) -> None:
    with pytest.raises(UpstreamError) as caught:
        upstream_client(alice).api_post({"using": ["urn:example:nothing"], "methodCalls": []})
    error = caught.value
    assert error.status == 400
    assert error.problem is not None
    assert error.problem["type"] == "urn:ietf:params:jmap:error:unknownCapability"
    assert "unknownCapability" in str(error)


def test_an_oversize_answer_is_refused(alice: Account, settings: Settings) -> None:
    client = upstream_client(alice)
    client.session()
    settings.JMAP_MAX_RESPONSE_SIZE = 200
    with pytest.raises(UpstreamError, match="too large"):
        client.api_post({"using": [CORE], "methodCalls": [["Core/echo", {"pad": "x" * 500}, "0"]]})


def test_another_session_state_refreshes_the_stored_session(alice: Account) -> None:
    client = upstream_client(alice)
    upstream_state = client.session().state
    alice.upstream_session = {**alice.upstream_session, "state": "stale-state"}
    alice.save(update_fields=["upstream_session"])
    client.api_post({"using": [CORE], "methodCalls": [["Core/echo", {}, "0"]]})
    assert client.session().state == upstream_state
    alice.refresh_from_db()
    assert alice.upstream_session["state"] == upstream_state


def test_auth_headers_per_auth_type(alice_cyrus: CyrusUser) -> None:
    account = passthrough_account_make(accountid="alice", user=alice_cyrus, password="s3cret")
    assert UpstreamClient(account).auth_headers() == {"Authorization": "Basic YWxpY2UtcTEtY2xpZW50OnMzY3JldA=="}
    account.auth_type = "bearer"
    assert UpstreamClient(account).auth_headers() == {"Authorization": "Bearer s3cret"}
    # A bearer account is not OAuth: nothing to refresh, so a 401 is final.
    assert UpstreamClient(account).credentials_refresh() is False


def test_the_cached_client_follows_the_account_row(alice: Account) -> None:
    first = upstream_client(alice)
    assert upstream_client(Account.objects.get(pk=alice.pk)) is first
    # Another process (the management API, the admin) changes the row.
    changed = Account.objects.get(pk=alice.pk)
    changed.username = "someone-else"
    changed.save()
    assert upstream_client(changed) is not first
