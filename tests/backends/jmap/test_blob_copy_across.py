"""Blob/copy (RFC 8620 §6.3) and Email/copy (RFC 8621 §4.7) between alice's IMAP account
(Dovecot) and her passthrough account (Cyrus), both ways (issue 12, item 3).

Every copy is checked on the other side: bytes downloaded from Cyrus directly
or from the proxy's local store, emails read back from Cyrus's JMAP or
Dovecot's IMAP. Failures are per object and leave nothing half done: an email
that could not be copied keeps its original even with onSuccessDestroyOriginal.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from backends.imap.pool import imap_pool_close_all
from tests.backends.jmap.blob_people import BlobAlice
from tests.jmapcore.mail.conftest import message
from tests.servers.cyrus import CyrusServer
from tests.servers.dovecot import DovecotServer

pytestmark = [
    pytest.mark.django_db,
    # Django's test client reads the proxy's async download iterator synchronously, and says so.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators"),
    pytest.mark.usefixtures("fresh_upstream_clients"),
]


@pytest.fixture
def alice(dovecot: DovecotServer, cyrus: CyrusServer) -> Iterator[BlobAlice]:
    yield BlobAlice(dovecot=dovecot, cyrus=cyrus, cyrus_login="alice-q3-copy")
    imap_pool_close_all()


def _upload(alice: BlobAlice, account_id: str, data: bytes, media_type: str = "text/plain") -> str:
    response = alice.client.post(f"/upload/{account_id}/", data=data, content_type=media_type,
                                 HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert response.status_code == 201, response.content
    return str(json.loads(response.content)["blobId"])


def _download(alice: BlobAlice, account_id: str, blob_id: str) -> bytes:
    response = alice.client.get(f"/download/{account_id}/{blob_id}/x.bin?type=application/octet-stream",
                                HTTP_AUTHORIZATION=alice.auth)  # fmt: skip
    assert response.status_code == 200, getattr(response, "content", b"")
    try:
        return b"".join(response) if response.streaming else bytes(response.content)
    finally:
        response.close()


def _one(responses: list[list[Any]], name: str) -> dict[str, Any]:
    found, arguments, _ = responses[0]
    assert found == name, arguments
    return dict(arguments)


# ---------------------------------------------------------------- Blob/copy


def test_blob_copy_from_imap_account_to_upstream(alice: BlobAlice) -> None:
    data = b"alice's local notes " + secrets.token_bytes(200_000)
    local_id = _upload(alice, alice.imap_id, data, "application/octet-stream")
    copied = _one(alice.request(["Blob/copy", {"fromAccountId": alice.imap_id, "accountId": alice.upstream_id,
                                               "blobIds": [local_id, "Bnosuchblob"]}, "0"]), "Blob/copy")  # fmt: skip
    assert copied["fromAccountId"] == alice.imap_id and copied["accountId"] == alice.upstream_id
    upstream_id = copied["copied"][local_id]
    assert alice.upstream_download(upstream_id) == data
    assert copied["notCopied"]["Bnosuchblob"]["type"] == "notFound"


def test_blob_copy_from_upstream_to_imap_account(alice: BlobAlice) -> None:
    data = b"from Cyrus " + secrets.token_bytes(150_000)
    upstream_blob = _upload(alice, alice.upstream_id, data)
    arguments = {"fromAccountId": alice.upstream_id, "accountId": alice.imap_id,
                 "blobIds": [upstream_blob, "Gnosuchblob00"]}  # fmt: skip
    copied = _one(alice.request(["Blob/copy", arguments, "0"]), "Blob/copy")
    local_id = copied["copied"][upstream_blob]
    assert local_id.startswith("B")  # an upload of the proxy's own store now
    assert _download(alice, alice.imap_id, local_id) == data
    assert copied["notCopied"]["Gnosuchblob00"]["type"] == "notFound"


def test_blob_copy_from_a_foreign_account_is_refused(alice: BlobAlice) -> None:
    from tests.personas import make_persona

    bob = make_persona("bob")
    answer = alice.request(["Blob/copy", {"fromAccountId": bob.account_id, "accountId": alice.upstream_id,
                                          "blobIds": ["Bx"]}, "0"])  # fmt: skip
    assert answer[0][0] == "error" and answer[0][1]["type"] == "fromAccountNotFound"


# ---------------------------------------------------------------- Email/copy


def _deliver_and_sync(alice: BlobAlice, raw: bytes) -> str:
    alice.mail.deliver(raw)
    alice.mail.sync()
    [email_id] = alice.mail.ok("Email/query")["ids"]
    return str(email_id)


def test_email_copy_from_imap_into_upstream_then_destroy_original(alice: BlobAlice) -> None:
    raw = message(subject="to Cyrus " + secrets.token_hex(3), body="Over the wire.\r\n")
    email_id = _deliver_and_sync(alice, raw)
    inbox = alice.upstream_inbox()
    responses = alice.request(["Email/copy", {
        "fromAccountId": alice.imap_id, "accountId": alice.upstream_id,
        "create": {
            "c1": {"id": email_id, "mailboxIds": {inbox: True}, "keywords": {"$flagged": True},
                   "receivedAt": "2026-11-02T08:30:00Z"},
            "bad": {"id": "Mnosuchemail", "mailboxIds": {inbox: True}},
        },
        "onSuccessDestroyOriginal": True,
    }, "0"])  # fmt: skip
    copy = _one(responses, "Email/copy")
    assert copy["accountId"] == alice.upstream_id and copy["fromAccountId"] == alice.imap_id
    assert copy["notCreated"]["bad"]["type"] == "notFound"
    new_id = copy["created"]["c1"]["id"]
    assert copy["oldState"] != copy["newState"]
    # The implicit destroy of the original came next, for the one that was copied.
    implicit_name, implicit, _ = responses[1]
    assert implicit_name == "Email/set" and implicit["destroyed"] == [email_id]
    assert alice.mail.ok("Email/query")["ids"] == []

    [(_, got, _)] = alice.upstream_direct(["Email/get", {
        "accountId": alice.cyrus_user.login, "ids": [new_id],
        "properties": ["subject", "keywords", "receivedAt", "mailboxIds", "blobId"],
    }, "0"])  # fmt: skip
    [email] = got["list"]
    assert email["keywords"] == {"$flagged": True}
    assert email["receivedAt"] == "2026-11-02T08:30:00Z"
    assert email["mailboxIds"] == {inbox: True}
    assert alice.upstream_download(email["blobId"]) == raw


def test_email_copy_from_upstream_into_imap(alice: BlobAlice) -> None:
    raw = message(subject="from Cyrus " + secrets.token_hex(3), body="Native JMAP mail.\r\n")
    inbox = alice.upstream_inbox()
    upstream_blob = _upload(alice, alice.upstream_id, raw, "message/rfc822")
    [(_, imported, _)] = alice.upstream_direct(["Email/import", {
        "accountId": alice.cyrus_user.login,
        "emails": {"m": {"blobId": upstream_blob, "mailboxIds": {inbox: True}, "keywords": {"$seen": True},
                         "receivedAt": "2026-10-01T12:00:00Z"}},
    }, "0"])  # fmt: skip
    original = imported["created"]["m"]["id"]
    alice.mail.sync()  # the proxy learns alice's Dovecot mailboxes
    local_inbox = alice.mail.mailboxes()["inbox"]["id"]
    responses = alice.request(["Email/copy", {
        "fromAccountId": alice.upstream_id, "accountId": alice.imap_id,
        "create": {"k": {"id": original, "mailboxIds": {local_inbox: True}}},
        "onSuccessDestroyOriginal": True,
    }, "0"])  # fmt: skip
    copy = _one(responses, "Email/copy")
    assert copy["notCreated"] is None, copy
    new_id = copy["created"]["k"]["id"]
    implicit_name, implicit, _ = responses[1]
    assert implicit_name == "Email/set" and implicit["accountId"] == alice.upstream_id
    assert implicit["destroyed"] == [original]

    # On Dovecot: the same bytes, the source's keywords and receivedAt (not overridden).
    [got] = alice.mail.ok("Email/get", ids=[new_id], properties=["subject", "keywords", "receivedAt"])["list"]
    assert got["keywords"] == {"$seen": True}
    assert got["receivedAt"] == "2026-10-01T12:00:00Z"
    with alice.mail.imap() as imap:
        imap.select_folder("INBOX", readonly=True)
        [uid] = imap.search("ALL")
        assert imap.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] == raw
    # And gone from Cyrus.
    [(_, left, _)] = alice.upstream_direct(["Email/get", {"accountId": alice.cyrus_user.login,
                                                          "ids": [original], "properties": ["id"]}, "0"])  # fmt: skip
    assert left["notFound"] == [original]


def test_a_copy_the_upstream_refuses_keeps_the_original(alice: BlobAlice) -> None:
    raw = message(subject="stays " + secrets.token_hex(3))
    email_id = _deliver_and_sync(alice, raw)
    responses = alice.request(["Email/copy", {
        "fromAccountId": alice.imap_id, "accountId": alice.upstream_id,
        "create": {"c1": {"id": email_id, "mailboxIds": {"nosuchmailbox": True}}},
        "onSuccessDestroyOriginal": True,
    }, "0"])  # fmt: skip
    assert len(responses) == 1, "no implicit destroy when nothing was copied"
    copy = _one(responses, "Email/copy")
    assert copy["created"] is None
    assert copy["notCreated"]["c1"]["type"] in ("invalidProperties", "notFound"), copy
    assert alice.mail.ok("Email/query")["ids"] == [email_id]


def test_bad_creates_are_refused_before_anything_is_read(alice: BlobAlice) -> None:
    inbox = alice.upstream_inbox()
    copy = _one(alice.request(["Email/copy", {
        "fromAccountId": alice.imap_id, "accountId": alice.upstream_id,
        "create": {"a": {"mailboxIds": {inbox: True}}, "b": {"id": "x", "subject": "no"},
                   "c": {"id": "x", "mailboxIds": {}}},
    }, "0"]), "Email/copy")  # fmt: skip
    assert copy["created"] is None
    assert {key: error["type"] for key, error in copy["notCreated"].items()} == {
        "a": "invalidProperties", "b": "invalidProperties", "c": "invalidProperties",
    }


def test_a_stale_state_is_state_mismatch(alice: BlobAlice) -> None:
    answer = alice.request(["Email/copy", {"fromAccountId": alice.imap_id, "accountId": alice.upstream_id,
                                           "ifInState": "not-the-state", "create": {}}, "0"])  # fmt: skip
    assert answer[0][0] == "error" and answer[0][1]["type"] == "stateMismatch"



def test_blob_copy_between_two_upstream_logins(alice: BlobAlice, cyrus: CyrusServer) -> None:
    """alice's second Cyrus login is another passthrough Account: the copy goes down from one and up to the other."""
    from backends.jmap.client import upstream_client
    from tests.backends.jmap.passthrough import passthrough_account_make

    work_user = cyrus.user("alice-q3-work", "work-" + secrets.token_hex(4))
    work = passthrough_account_make(accountid=f"wk{secrets.token_hex(3)}", user=work_user, pool=alice.mail.pool)
    upstream_client(work).session_refresh()
    data = b"between two Cyrus logins " + secrets.token_bytes(10_000)
    source = _upload(alice, alice.upstream_id, data)
    copied = _one(alice.request(["Blob/copy", {"fromAccountId": alice.upstream_id, "accountId": work.accountid,
                                               "blobIds": [source]}, "0"]), "Blob/copy")  # fmt: skip
    assert copied["notCopied"] is None, copied
    assert _download(alice, work.accountid, copied["copied"][source]) == data
