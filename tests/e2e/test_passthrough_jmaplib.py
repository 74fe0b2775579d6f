"""A JMAP passthrough account end to end: jmaplib (a third-party client from
PyPI) drives the real proxy process (`manage.py runproxy`), whose account for
carol is a passthrough account on the suite's Cyrus IMAP 3.6, added through the
management API exactly as the README shows (sessionUrl, username, password).

carol lists her mailboxes, creates a Drafts mailbox and a draft in it, finds the
draft with Email/query and reads it with Email/get; the draft is then checked on
Cyrus by plain IMAP, as another mail client would see it. Steps share what they
learn through the module's `story`; a step whose prerequisite failed is skipped.
"""
from __future__ import annotations

import imaplib
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jmap.auth import BasicAuth
from jmap.client import JMAPClient

from tests.e2e.conftest import HTTP_TIMEOUT
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.proxy import ProxyProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

MAIL = "urn:ietf:params:jmap:mail"


class Story(dict[str, Any]):
    """What earlier steps found out. `need` skips a step whose input is missing."""

    def need(self, key: str, step: str) -> Any:
        if key not in self:
            pytest.skip(f"needs {key!r} from the earlier step {step}, which did not complete")
        return self[key]


@pytest.fixture(scope="module")
def story() -> Story:
    return Story(marker=secrets.token_hex(6))


@pytest.fixture(scope="module")
def carol_cyrus(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user(f"carol-q2-e2e-{secrets.token_hex(3)}", f"carol-{secrets.token_hex(6)}")


@pytest.fixture(scope="module")
def carol_accountid(e2e_proxy: ProxyProcess, carol_cyrus: CyrusUser) -> str:
    """carol's passthrough account, added with POST /api/accounts (README, "JMAP passthrough account")."""
    accountid = f"carol-{secrets.token_hex(3)}"
    body = {
        "accountid": accountid,
        "email": f"{carol_cyrus.login}@example.test",
        "sessionUrl": carol_cyrus.session_url,
        "username": carol_cyrus.login,
        "password": carol_cyrus.password,
        "authType": "basic",
    }
    response = httpx.post(e2e_proxy.mgmt_url + "/api/accounts", json=body, timeout=60)
    assert response.status_code == 201, f"{response.status_code} {response.text}\n{e2e_proxy.log_text()[-3000:]}"
    return accountid


@pytest.fixture(scope="module")
def carol(e2e_proxy: ProxyProcess, carol_cyrus: CyrusUser, carol_accountid: str) -> Iterator[JMAPClient]:
    """jmaplib logged in as carol (login = the account's email, password = the backend password)."""
    auth = BasicAuth(f"{carol_cyrus.login}@example.test", carol_cyrus.password)
    with JMAPClient.connect(e2e_proxy.jmap_url + "/.well-known/jmap", auth=auth, timeout=HTTP_TIMEOUT) as client:
        yield client


def cyrus_search(user: CyrusUser, folder: str, *criteria: str) -> list[bytes]:
    connection = imaplib.IMAP4(user.imap_host, user.imap_port, timeout=30)
    try:
        connection.login(user.login, user.password)
        status, _ = connection.select(folder, readonly=True)
        assert status == "OK", folder
        status, hits = connection.search(None, *criteria)
        assert status == "OK"
        return hits[0].split()
    finally:
        connection.logout()


def test_session_shows_the_passthrough_account(carol: JMAPClient, carol_accountid: str) -> None:
    """RFC 8620 §2: the proxy's Session lists the upstream account under the proxy's id."""
    session = carol.session
    assert session.primary_accounts.get(MAIL) == carol_accountid
    assert MAIL in session.capabilities


def test_list_mailboxes(carol: JMAPClient, carol_accountid: str, story: Story) -> None:
    """Mailbox/get with ids null (RFC 8621 §2.1) is answered by Cyrus through the proxy."""
    with carol.batch() as batch:
        got = batch.mail.mailbox.get(ids=None)
    assert got.result.account_id == carol_accountid
    roles = {mailbox.role: mailbox for mailbox in got.result.items if mailbox.role}
    assert "inbox" in roles
    story["inbox"] = roles["inbox"].id


def test_create_a_drafts_mailbox_and_a_draft(carol: JMAPClient, carol_cyrus: CyrusUser, story: Story) -> None:
    """Mailbox/set then Email/set (RFC 8621 §2.5, §4.6) in one request: the draft's
    mailboxIds names the new mailbox by its creation id ("#drafts", RFC 8620 §5.3)."""
    story.need("inbox", "test_list_mailboxes")
    subject = f"Minutes {story['marker']}"
    with carol.batch() as batch:
        boxes = batch.mail.mailbox.set(create={"drafts": {"name": "Drafts", "role": "drafts"}})
        created = batch.mail.email.set(create={"draft": {
            "mailboxIds": {"#drafts": True},
            "keywords": {"$draft": True, "$seen": True},
            "from": [{"name": "Carol", "email": f"{carol_cyrus.login}@example.test"}],
            "to": [{"name": "Dave", "email": "dave@example.test"}],
            "subject": subject,
            "textBody": [{"partId": "body", "type": "text/plain"}],
            "bodyValues": {"body": {"value": f"Minutes of today ({story['marker']}).\n"}},
        }})
    assert not boxes.result.has_errors, boxes.result.not_created
    assert not created.result.has_errors, created.result.not_created
    story.update(drafts=boxes.result.created_id("drafts"), draft=created.result.created_id("draft"), subject=subject)
    assert len(cyrus_search(carol_cyrus, "Drafts", "DRAFT", "SUBJECT", f'"{subject}"')) == 1


def test_query_and_fetch_the_draft(carol: JMAPClient, story: Story) -> None:
    """Email/query in Drafts (RFC 8621 §4.4) and Email/get by back-reference (RFC 8620 §3.7)."""
    drafts = story.need("drafts", "test_create_a_drafts_mailbox_and_a_draft")
    with carol.batch() as batch:
        found = batch.mail.email.query(filter={"inMailbox": drafts})
        got = batch.mail.email.get(ids=found.ref_ids(),
                                   properties=["subject", "keywords", "mailboxIds", "textBody", "bodyValues"],
                                   fetchTextBodyValues=True)
    assert list(found.result.ids) == [story["draft"]]
    [draft] = got.result.items
    assert draft.subject == story["subject"]
    assert draft.mailbox_ids == {drafts: True}
    assert draft.keywords and draft.keywords.get("$draft") is True
    assert draft.text_body and draft.body_values
    body = draft.body_values[draft.text_body[0].part_id or ""].value
    assert f"Minutes of today ({story['marker']})." in body
