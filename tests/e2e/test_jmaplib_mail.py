"""Mail end to end: a third-party JMAP client (jmaplib, from PyPI) drives the
real proxy process over HTTP, and what it does is checked on the real Dovecot
with raw IMAP, as another mail client would see it.

alice and bob are Dovecot users whose accounts were added through the
management API (POST /api/accounts). The steps run in order and share what they
learn (mailbox ids, the email id) through the module's `story`; a step whose
prerequisite failed is skipped, naming that step.

RFC 8620 (core) and RFC 8621 (mail) sections are cited where a check comes
from them. Error cases use raw JSON over httpx, since a well-behaved client
library will not send malformed requests.
"""
from __future__ import annotations

import email.utils
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jmap.client import JMAPClient
from jmap.core.patch import keyword_patch, mailbox_patch

from tests.e2e.conftest import HTTP_TIMEOUT, SYNC_WAIT, E2EPerson, wait_for
from tests.servers.smtp import SmtpServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SUBMISSION = "urn:ietf:params:jmap:submission"
# Another domain: the test SMTP server accepts and records it without delivering.
BCC_ADDRESS = "records@audit.example.net"


# -- shared state of the story -------------------------------------------------------
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
def alice_client(e2e_alice: E2EPerson) -> Iterator[JMAPClient]:
    with e2e_alice.client() as client:
        yield client


@pytest.fixture(scope="module")
def bob_client(e2e_bob: E2EPerson) -> Iterator[JMAPClient]:
    with e2e_bob.client() as client:
        yield client


# -- helpers -------------------------------------------------------------------------
def mailboxes_by_role(client: JMAPClient) -> dict[str, Any]:
    with client.batch() as batch:
        got = batch.mail.mailbox.get(ids=None)
    return {mailbox.role: mailbox for mailbox in got.result.items if mailbox.role}


def email_ids_in(client: JMAPClient, mailbox_id: str) -> list[str]:
    with client.batch() as batch:
        found = batch.mail.email.query(
            filter={"inMailbox": mailbox_id}, sort=[{"property": "receivedAt", "isAscending": False}], limit=50
        )
    return list(found.result.ids)


def find_by_subject(client: JMAPClient, mailbox_id: str, subject: str) -> Any:
    """The email in `mailbox_id` with exactly this subject, or None (query + get in one request)."""
    with client.batch() as batch:
        found = batch.mail.email.query(
            filter={"inMailbox": mailbox_id}, sort=[{"property": "receivedAt", "isAscending": False}], limit=50
        )
        got = batch.mail.email.get(ids=found.ref_ids(), properties=["id", "subject", "mailboxIds", "keywords"])
    matches = [item for item in got.result.items if item.subject == subject]
    return matches[0] if matches else None


def imap_flags(person: E2EPerson, folder: str, message_id: str) -> list[set[bytes]]:
    """The flags of every message in `folder` whose Message-ID header is `message_id`."""
    with person.imap() as imap:
        imap.select_folder(folder, readonly=True)
        uids = imap.search(["HEADER", "Message-ID", message_id])
        if not uids:
            return []
        return [set(item[b"FLAGS"]) for item in imap.fetch(uids, ["FLAGS"]).values()]


def message_id_header(value: str) -> str:
    """`<id@host>` for the Message-ID header from RFC 8621's bare `id@host` form."""
    return value if value.startswith("<") else f"<{value}>"


# -- alice ---------------------------------------------------------------------------
def test_session_is_found_through_well_known(alice_client: JMAPClient, e2e_alice: E2EPerson) -> None:
    """RFC 8620 §2.2: /.well-known/jmap redirects to the session; §2: the session
    names the user, their account as primary for mail, and absolute endpoint URLs."""
    session = alice_client.session
    assert session.username == e2e_alice.login
    assert session.primary_accounts.get(MAIL) == e2e_alice.accountid
    assert session.primary_accounts.get(CORE) == e2e_alice.accountid
    assert set(session.accounts) == {e2e_alice.accountid}
    assert {CORE, MAIL, SUBMISSION} <= set(session.capabilities)
    for url in (session.api_url, session.download_url, session.upload_url):
        assert url.startswith(e2e_alice.proxy.jmap_url + "/"), url
    assert alice_client.echo(hello="world") == {"hello": "world"}


def test_mailboxes_have_their_roles(alice_client: JMAPClient, e2e_alice: E2EPerson, story: Story) -> None:
    """RFC 8621 §2: Mailbox/get with ids null lists every mailbox; the special-use
    folders of Dovecot carry the roles inbox, drafts, sent, archive, trash, junk."""
    roles = wait_for(
        lambda: (r := mailboxes_by_role(alice_client)) and {"inbox", "drafts", "sent", "archive"} <= set(r) and r,
        poke=e2e_alice.sync,
        what="alice's mailboxes after the first sync",
    )
    assert {"inbox", "drafts", "sent", "archive", "trash", "junk"} <= set(roles)
    assert roles["inbox"].name.lower() == "inbox"
    assert roles["drafts"].name == "Drafts"
    assert roles["sent"].name == "Sent"
    assert roles["archive"].name == "Archive"
    assert len({mailbox.id for mailbox in roles.values()}) == len(roles)
    story["mailboxes"] = {role: mailbox.id for role, mailbox in roles.items()}


def test_reads_mail_another_client_appended(alice_client: JMAPClient, e2e_alice: E2EPerson, story: Story) -> None:
    """A message APPENDed to INBOX by another IMAP client shows up after a sync:
    Email/query finds it (RFC 8621 §4.4), Email/get returns its headers and, with
    fetchTextBodyValues, its decoded text body (§4.2)."""
    mailboxes = story.need("mailboxes", "test_mailboxes_have_their_roles")
    subject = f"Quarterly figures {story['marker']}"
    message_id = f"<figures-{story['marker']}@carol.example.test>"
    body = "Hi Alice,\r\n\r\nthe figures are attached in spirit.\r\n\r\nCarol\r\n"
    raw = (
        f"From: Carol Example <carol@example.test>\r\n"
        f"To: Alice <{e2e_alice.login}>\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {email.utils.format_datetime(email.utils.localtime())}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n" + body
    )
    assert e2e_alice.dovecot.message_append(e2e_alice.login, raw) is not None

    found = wait_for(
        lambda: find_by_subject(alice_client, mailboxes["inbox"], subject),
        poke=e2e_alice.sync,
        what="the appended message in alice's inbox",
    )
    with alice_client.batch() as batch:
        got = batch.mail.email.get(
            ids=[found.id],
            properties=[
                "id", "blobId", "threadId", "mailboxIds", "keywords", "subject", "from", "to",
                "messageId", "receivedAt", "size", "preview", "textBody", "bodyValues",
            ],
            fetchTextBodyValues=True,
        )
    assert got.result.not_found == []
    item = got.result.items[0]
    assert item.id == found.id
    assert item.subject == subject
    assert item.mailbox_ids == {mailboxes["inbox"]: True}
    assert not item.keywords  # appended without flags: not $seen, not $flagged
    assert [(a.name, a.email) for a in item.from_ or []] == [("Carol Example", "carol@example.test")]
    assert [a.email for a in item.to or []] == [e2e_alice.login]
    assert item.message_id == [message_id.strip("<>")]
    assert item.blob_id and item.thread_id and item.received_at and item.size
    assert "figures are attached" in (item.preview or "")
    assert item.text_body and item.text_body[0].type == "text/plain"
    part_id = item.text_body[0].part_id
    assert part_id is not None and item.body_values is not None
    # RFC 8621 §4.1.4: bodyValues hold the decoded text, line breaks as in the part.
    assert item.body_values[part_id].value.replace("\r\n", "\n") == body.replace("\r\n", "\n")
    assert not item.body_values[part_id].is_truncated
    assert not item.body_values[part_id].is_encoding_problem

    # The raw message is downloadable as its blob (RFC 8620 §6.2).
    raw_download = alice_client.download(item.blob_id, name="message.eml", content_type="message/rfc822")
    assert f"Message-ID: {message_id}".encode() in raw_download
    story.update(email_id=item.id, message_id=message_id, subject=subject)


def test_flagging_sets_flagged_on_the_server(alice_client: JMAPClient, e2e_alice: E2EPerson, story: Story) -> None:
    """Email/set with the patch keywords/$flagged (RFC 8621 §4.1.1) reaches the
    IMAP server as \\Flagged (RFC 3501 §2.3.2) before the call returns."""
    email_id = story.need("email_id", "test_reads_mail_another_client_appended")
    message_id, inbox = story["message_id"], story["mailboxes"]["inbox"]
    with alice_client.batch() as batch:
        before = batch.mail.email.get(ids=[], properties=["id"])
    with alice_client.batch() as batch:
        changed = batch.mail.email.set(update={email_id: keyword_patch(add=["$flagged"])})
    assert not changed.result.has_errors, changed.result.not_updated
    assert email_id in changed.result.updated
    assert changed.result.old_state == before.result.state
    assert changed.result.new_state != changed.result.old_state

    flags = imap_flags(e2e_alice, "INBOX", message_id)
    assert len(flags) == 1 and b"\\Flagged" in flags[0], flags
    assert b"\\Seen" not in flags[0]

    # What a caching client does next (RFC 8620 §5.2, RFC 8621 §4.4.1).
    with alice_client.batch() as batch:
        changes = batch.mail.email.changes(since_state=before.result.state)
        got = batch.mail.email.get(ids=[email_id], properties=["keywords"])
        flagged = batch.mail.email.query(filter={"inMailbox": inbox, "hasKeyword": "$flagged"})
        unflagged = batch.mail.email.query(filter={"inMailbox": inbox, "notKeyword": "$flagged"})
    assert changes.result.updated == [email_id] and changes.result.created == [] == changes.result.destroyed
    assert changes.result.new_state == changed.result.new_state
    assert got.result.items[0].keywords == {"$flagged": True}
    assert list(flagged.result.ids) == [email_id]
    assert email_id not in unflagged.result.ids
    story["flagged"] = True


def test_move_to_archive_moves_on_the_server(alice_client: JMAPClient, e2e_alice: E2EPerson, story: Story) -> None:
    """Patching mailboxIds (inbox off, archive on) moves the message on IMAP; the
    email keeps its id (ids are stable across moves by this proxy) and its flag."""
    story.need("flagged", "test_flagging_sets_flagged_on_the_server")
    email_id, message_id, mailboxes = story["email_id"], story["message_id"], story["mailboxes"]
    patch = mailbox_patch(add=[mailboxes["archive"]], remove=[mailboxes["inbox"]])
    with alice_client.batch() as batch:
        changed = batch.mail.email.set(update={email_id: patch})
    assert not changed.result.has_errors, changed.result.not_updated

    assert imap_flags(e2e_alice, "INBOX", message_id) == []
    archived = imap_flags(e2e_alice, "Archive", message_id)
    assert len(archived) == 1 and b"\\Flagged" in archived[0], archived

    with alice_client.batch() as batch:
        got = batch.mail.email.get(ids=[email_id], properties=["mailboxIds", "keywords", "subject"])
    assert got.result.not_found == []
    item = got.result.items[0]
    assert item.mailbox_ids == {mailboxes["archive"]: True}
    assert item.keywords == {"$flagged": True}
    assert item.subject == story["subject"]
    assert email_id in email_ids_in(alice_client, mailboxes["archive"])
    assert email_id not in email_ids_in(alice_client, mailboxes["inbox"])
    # RFC 8621 §2.1: the counts follow the move (alice's INBOX held only this one).
    with alice_client.batch() as batch:
        boxes = batch.mail.mailbox.get(
            ids=[mailboxes["inbox"], mailboxes["archive"]], properties=["totalEmails", "unreadEmails"]
        )
    counts = {box.id: (box.total_emails, box.unread_emails) for box in boxes.result.items}
    assert counts == {mailboxes["inbox"]: (0, 0), mailboxes["archive"]: (1, 1)}
    story["archived"] = True


def test_change_by_another_client_is_seen(alice_client: JMAPClient, e2e_alice: E2EPerson, story: Story) -> None:
    """Another IMAP client marks the archived message \\Seen; after a sync the
    proxy reports it through Email/changes (RFC 8620 §5.2) as an update to the
    same id, with $seen among its keywords and the unread count down to 0."""
    story.need("archived", "test_move_to_archive_moves_on_the_server")
    email_id, message_id, archive = story["email_id"], story["message_id"], story["mailboxes"]["archive"]
    with alice_client.batch() as batch:
        before = batch.mail.email.get(ids=[], properties=["id"])
    with e2e_alice.imap() as imap:
        imap.select_folder("Archive")
        uids = imap.search(["HEADER", "Message-ID", message_id])
        assert len(uids) == 1
        imap.add_flags(uids, [b"\\Seen"])

    def seen() -> Any:
        with alice_client.batch() as batch:
            got = batch.mail.email.get(ids=[email_id], properties=["keywords"])
        return got.result.items and (got.result.items[0].keywords or {}).get("$seen")

    wait_for(seen, poke=e2e_alice.sync, what="$seen after another client set \\Seen")
    with alice_client.batch() as batch:
        changes = batch.mail.email.changes(since_state=before.result.state)
        box = batch.mail.mailbox.get(ids=[archive], properties=["totalEmails", "unreadEmails"])
        got = batch.mail.email.get(ids=[email_id], properties=["keywords", "mailboxIds"])
    assert email_id in changes.result.updated and changes.result.destroyed == []
    assert (box.result.items[0].total_emails, box.result.items[0].unread_emails) == (1, 0)
    assert got.result.items[0].keywords == {"$flagged": True, "$seen": True}
    assert got.result.items[0].mailbox_ids == {archive: True}


def test_compose_a_draft(
    alice_client: JMAPClient, e2e_alice: E2EPerson, e2e_bob: E2EPerson, story: Story
) -> None:
    """Email/set create (RFC 8621 §4.6) with $draft in the drafts mailbox is
    APPENDed to Drafts with \\Draft; the created object carries the server-set
    properties (id, blobId, threadId, size)."""
    mailboxes = story.need("mailboxes", "test_mailboxes_have_their_roles")
    subject = f"Lunch on Friday? {story['marker']}"
    text = f"Hi Bob,\n\nlunch on Friday at one? ({story['marker']})\n\nAlice\n"
    with alice_client.batch() as batch:
        created = batch.mail.email.set(
            create={
                "draft": {
                    "mailboxIds": {mailboxes["drafts"]: True},
                    "keywords": {"$draft": True, "$seen": True},
                    "from": [{"name": "Alice", "email": e2e_alice.login}],
                    "to": [{"name": "Bob", "email": e2e_bob.login}],
                    "bcc": [{"email": BCC_ADDRESS}],
                    "subject": subject,
                    "textBody": [{"partId": "body", "type": "text/plain"}],
                    "bodyValues": {"body": {"value": text}},
                }
            }
        )
    assert not created.result.has_errors, created.result.not_created
    draft_id = created.result.created_id("draft")
    assert draft_id
    server_set = created.result.created["draft"]
    assert server_set.blob_id and server_set.thread_id and server_set.size

    with alice_client.batch() as batch:
        got = batch.mail.email.get(
            ids=[draft_id],
            properties=["mailboxIds", "keywords", "subject", "messageId", "to", "from", "textBody", "bodyValues"],
            fetchTextBodyValues=True,
        )
    assert got.result.not_found == []
    draft = got.result.items[0]
    assert [a.email for a in draft.from_ or []] == [e2e_alice.login]
    assert draft.text_body and draft.body_values
    body = draft.body_values[draft.text_body[0].part_id or ""].value
    assert body.replace("\r\n", "\n") == text
    assert draft.mailbox_ids == {mailboxes["drafts"]: True}
    assert draft.keywords == {"$draft": True, "$seen": True}
    assert draft.subject == subject
    assert [a.email for a in draft.to or []] == [e2e_bob.login]
    assert draft.message_id and len(draft.message_id) == 1  # RFC 8621 §4.6: the server adds one

    message_id = message_id_header(draft.message_id[0])
    flags = imap_flags(e2e_alice, "Drafts", message_id)
    assert len(flags) == 1 and {b"\\Draft", b"\\Seen"} <= flags[0], flags
    story.update(draft_id=draft_id, draft_subject=subject, draft_text=text, draft_message_id=message_id)


def test_send_the_draft_to_bob(
    alice_client: JMAPClient, e2e_alice: E2EPerson, e2e_bob: E2EPerson, smtp_server: SmtpServer, story: Story
) -> None:
    """EmailSubmission/set (RFC 8621 §7.5) sends the draft over SMTP (STARTTLS),
    with the envelope taken from the headers, Bcc included in RCPT TO but not in
    the transmitted header (RFC 8621 §7.5, RFC 5322 §3.6.3); onSuccessUpdateEmail
    moves it from Drafts to Sent and drops $draft, on the IMAP server too."""
    draft_id = story.need("draft_id", "test_compose_a_draft")
    mailboxes, message_id = story["mailboxes"], story["draft_message_id"]

    with alice_client.batch() as batch:
        identities = batch.submission.identity.get(ids=None)
    mine = [identity for identity in identities.result.items if identity.email == e2e_alice.login]
    assert mine, [identity.email for identity in identities.result.items]
    identity_id = mine[0].id

    with alice_client.batch() as batch:
        sent = batch.submission.email_submission.set(
            create={"send": {"identityId": identity_id, "emailId": draft_id}},
            onSuccessUpdateEmail={
                "#send": {
                    f"mailboxIds/{mailboxes['drafts']}": None,
                    f"mailboxIds/{mailboxes['sent']}": True,
                    "keywords/$draft": None,
                }
            },
        )
    result = sent.result
    assert not result.has_errors, result.not_created
    submission = result.created["send"]
    assert submission.id
    # RFC 8621 §7.5: the implicit Email/set of onSuccessUpdateEmail follows, same call id.
    implicit = [answer for answer in sent.extra if answer.name == "Email/set"]
    assert len(implicit) == 1, [(answer.name, answer.arguments) for answer in sent.extra]
    assert implicit[0].method_call_id == sent.call_id
    assert draft_id in (implicit[0].arguments.get("updated") or {}), implicit[0].arguments
    assert not implicit[0].arguments.get("notUpdated"), implicit[0].arguments

    # RFC 8621 §7: the submission, read back; no delayed send, so it is final.
    with alice_client.batch() as batch:
        read_back = batch.submission.email_submission.get(ids=[submission.id])
    assert read_back.result.not_found == []
    stored = read_back.result.items[0]
    assert stored.email_id == draft_id and stored.identity_id == identity_id
    assert stored.undo_status == "final"
    assert stored.envelope is not None
    assert stored.envelope.mail_from.email == e2e_alice.login
    assert {address.email for address in stored.envelope.rcpt_to} == {e2e_bob.login, BCC_ADDRESS}

    # What left over SMTP: one transaction from alice to bob (and the Bcc), under TLS (smtpSSL 3).
    transmissions = smtp_server.transmissions_containing(story["marker"].encode())
    assert len(transmissions) == 1, transmissions
    transmission = transmissions[0]
    assert transmission.tls and transmission.starttls
    assert transmission.login == e2e_alice.login
    assert transmission.mail_from == e2e_alice.login
    assert sorted(transmission.rcpt_tos) == sorted([e2e_bob.login, BCC_ADDRESS])
    assert transmission.delivered == (e2e_bob.login,)
    headers = transmission.data.split(b"\r\n\r\n", 1)[0]
    assert f"Subject: {story['draft_subject']}".encode() in headers
    assert b"\nbcc:" not in headers.lower() and BCC_ADDRESS.encode() not in transmission.data

    with alice_client.batch() as batch:
        got = batch.mail.email.get(ids=[draft_id], properties=["mailboxIds", "keywords"])
    assert got.result.not_found == [], "the email lost its id when moved to Sent"
    item = got.result.items[0]
    assert item.mailbox_ids == {mailboxes["sent"]: True}
    assert "$draft" not in (item.keywords or {})

    assert imap_flags(e2e_alice, "Drafts", message_id) == []
    in_sent = imap_flags(e2e_alice, "Sent", message_id)
    assert len(in_sent) == 1 and b"\\Draft" not in in_sent[0], in_sent
    story["sent"] = True


@pytest.mark.usefixtures("lmtp_delivery")
def test_bob_receives_it(bob_client: JMAPClient, e2e_alice: E2EPerson, e2e_bob: E2EPerson, story: Story) -> None:
    """The message alice sent arrives in bob's INBOX (SMTP -> LMTP -> Dovecot)
    and his client finds it after a sync, with alice as sender and the text."""
    story.need("sent", "test_send_the_draft_to_bob")
    subject = story["draft_subject"]
    inbox = wait_for(
        lambda: mailboxes_by_role(bob_client).get("inbox"), poke=e2e_bob.sync, what="bob's inbox"
    )
    found = wait_for(
        lambda: find_by_subject(bob_client, inbox.id, subject),
        timeout=SYNC_WAIT,
        poke=e2e_bob.sync,
        what="alice's message in bob's inbox",
    )
    with bob_client.batch() as batch:
        got = batch.mail.email.get(
            ids=[found.id], properties=["from", "to", "subject", "keywords", "textBody", "bodyValues", "messageId"],
            fetchTextBodyValues=True,
        )
    item = got.result.items[0]
    assert [a.email for a in item.from_ or []] == [e2e_alice.login]
    assert [a.email for a in item.to or []] == [e2e_bob.login]
    assert "$draft" not in (item.keywords or {})
    assert item.message_id == [story["draft_message_id"].strip("<>")]
    assert item.text_body and item.body_values
    value = item.body_values[item.text_body[0].part_id or ""].value
    assert value.replace("\r\n", "\n").strip() == story["draft_text"].strip()


# -- errors, raw JSON ----------------------------------------------------------------
def api_post(person: E2EPerson, api_url: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, (bytes, str)) else httpx.Request("POST", api_url, json=body).content
    return httpx.post(
        api_url,
        content=content,
        auth=person.httpx_auth,
        headers={"Content-Type": "application/json"},
        timeout=HTTP_TIMEOUT,
    )


def test_errors_and_isolation_over_raw_json(
    alice_client: JMAPClient, bob_client: JMAPClient, e2e_alice: E2EPerson, e2e_bob: E2EPerson, story: Story
) -> None:
    """RFC 8620 §3.6.1 (request-level problems), §3.6.2 (method errors), and the
    design's scoping rule: alice never reaches bob's account, email or blob."""
    api_url = alice_client.session.api_url

    # Malformed JSON: a 400 problem document of type notJSON.
    response = api_post(e2e_alice, api_url, b'{"using": ["urn:ietf:params:jmap:core"], "methodCalls": [')
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:ietf:params:jmap:error:notJSON"
    assert response.json()["status"] == 400

    # Valid JSON that is not a Request (§3.3): notRequest; an unknown capability in `using`: unknownCapability.
    for body, problem in (
        ({"methodCalls": "nope"}, "notRequest"),
        ({"using": [CORE, "urn:example:no-such-capability"], "methodCalls": []}, "unknownCapability"),
    ):
        response = api_post(e2e_alice, api_url, body)
        assert response.status_code == 400, (problem, response.status_code, response.text)
        assert response.json()["type"] == f"urn:ietf:params:jmap:error:{problem}", response.text

    # No credentials, or a wrong password: 401 with a challenge, no JMAP answer.
    for auth in (None, (e2e_alice.login, "not-her-password")):
        response = httpx.post(
            api_url, json={"using": [CORE], "methodCalls": [["Core/echo", {}, "e"]]}, auth=auth, timeout=HTTP_TIMEOUT
        )
        assert response.status_code == 401, response.text
        assert "www-authenticate" in response.headers

    # A mail method whose capability is missing from `using` (§3.6.2): unknownMethod.
    response = api_post(
        e2e_alice,
        api_url,
        {"using": [CORE], "methodCalls": [["Mailbox/get", {"accountId": e2e_alice.accountid, "ids": None}, "u"]]},
    )
    assert response.status_code == 200, response.text
    name, arguments, call_id = response.json()["methodResponses"][0]
    assert (name, arguments.get("type"), call_id) == ("error", "unknownMethod", "u"), arguments

    # An unknown method: an error invocation with the same call id, siblings still run.
    response = api_post(
        e2e_alice,
        api_url,
        {
            "using": [CORE, MAIL],
            "methodCalls": [
                ["Frobnicate/get", {"accountId": e2e_alice.accountid}, "c1"],
                ["Core/echo", {"ping": 1}, "c2"],
            ],
        },
    )
    assert response.status_code == 200, response.text
    answers = response.json()["methodResponses"]
    assert answers[0] == ["error", {"type": "unknownMethod"}, "c1"] or (
        answers[0][0] == "error" and answers[0][1]["type"] == "unknownMethod" and answers[0][2] == "c1"
    )
    assert answers[1] == ["Core/echo", {"ping": 1}, "c2"]

    # A wrong accountId (nonexistent, or bob's): accountNotFound (§3.6.2).
    for account_id in ("no-such-account", e2e_bob.accountid):
        response = api_post(
            e2e_alice,
            api_url,
            {"using": [CORE, MAIL], "methodCalls": [["Mailbox/get", {"accountId": account_id, "ids": None}, "m"]]},
        )
        assert response.status_code == 200, response.text
        name, arguments, call_id = response.json()["methodResponses"][0]
        assert (name, arguments.get("type"), call_id) == ("error", "accountNotFound", "m"), arguments

    # Bob has an email (appended by another client); alice cannot see it by id.
    subject = f"For bob only {story['marker']}"
    e2e_bob.dovecot.message_append(
        e2e_bob.login,
        f"From: dave@example.test\r\nTo: {e2e_bob.login}\r\nSubject: {subject}\r\n"
        f"Message-ID: <private-{story['marker']}@example.test>\r\n\r\nsecret\r\n",
    )
    bob_inbox = wait_for(lambda: mailboxes_by_role(bob_client).get("inbox"), poke=e2e_bob.sync, what="bob's inbox")
    bob_email = wait_for(
        lambda: find_by_subject(bob_client, bob_inbox.id, subject), poke=e2e_bob.sync, what="bob's private message"
    )
    with bob_client.batch() as batch:
        got = batch.mail.email.get(ids=[bob_email.id], properties=["blobId"])
    bob_blob = got.result.items[0].blob_id
    assert bob_blob
    # Bob himself can download it: the 404s below are about alice, not a broken URL.
    assert b"secret" in bob_client.download(bob_blob)

    response = api_post(
        e2e_alice,
        api_url,
        {
            "using": [CORE, MAIL],
            "methodCalls": [
                [
                    "Email/get",
                    {"accountId": e2e_alice.accountid, "ids": [bob_email.id], "properties": ["subject"]},
                    "a",
                ],
                ["Email/get", {"accountId": e2e_bob.accountid, "ids": [bob_email.id]}, "b"],
                ["Mailbox/get", {"accountId": e2e_alice.accountid, "ids": [bob_inbox.id]}, "c"],
            ],
        },
    )
    assert response.status_code == 200, response.text
    by_id = {call_id: (name, arguments) for name, arguments, call_id in response.json()["methodResponses"]}
    assert by_id["a"][0] == "Email/get"
    assert by_id["a"][1]["list"] == [] and by_id["a"][1]["notFound"] == [bob_email.id]
    assert by_id["b"] == ("error", {"type": "accountNotFound"}) or (
        by_id["b"][0] == "error" and by_id["b"][1]["type"] == "accountNotFound"
    )
    assert by_id["c"][1]["list"] == [] and by_id["c"][1]["notFound"] == [bob_inbox.id]
    assert subject not in response.text

    # Bob's blob, asked for under bob's account or under alice's: 404 either way.
    template = alice_client.session.download_url
    for account_id in (e2e_bob.accountid, e2e_alice.accountid):
        url = (
            template.replace("{accountId}", account_id)
            .replace("{blobId}", bob_blob)
            .replace("{name}", "x.eml")
            .replace("{type}", "application%2Foctet-stream")
        )
        response = httpx.get(url, auth=e2e_alice.httpx_auth, timeout=HTTP_TIMEOUT)
        assert response.status_code == 404, (account_id, response.status_code, response.text[:200])
        assert b"secret" not in response.content
