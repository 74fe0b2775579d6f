"""Blob/copy (RFC 8620 §6.3) between accounts of one pool, never out of it."""

from __future__ import annotations

from django.test import Client

from accounts.models import Account
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.models import UploadedBlob
from tests.jmapcore.blobs.conftest import body_of, call, download, upload_ok
from tests.personas import Persona

PAYLOAD = b"\x89PNG\r\n\x1a\n not really a picture \xff\x00"


def second_account(persona: Persona, accountid: str) -> Account:
    """Another account in `persona`'s pool (one login, two accounts)."""
    return Account.objects.create(
        accountid=accountid, pool=persona.pool, email=f"{accountid}@example.test", username=accountid
    )


def test_copy_between_two_accounts_of_one_pool(jmap_client: Client, alice: Persona) -> None:
    work = second_account(alice, "alice-work")
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    assert download(jmap_client, alice.basic, work.accountid, blob_id).status_code == 404

    [[name, result, call_id]] = call(
        jmap_client,
        alice.basic,
        ["Blob/copy", {"fromAccountId": alice.account_id, "accountId": work.accountid, "blobIds": [blob_id]}, "c1"],
        using=[CORE_CAPABILITY],
    )
    assert (name, call_id) == ("Blob/copy", "c1")
    assert result["fromAccountId"] == alice.account_id
    assert result["accountId"] == work.accountid
    assert result["notCopied"] is None
    copied_id = result["copied"][blob_id]

    fetched = download(jmap_client, alice.basic, work.accountid, copied_id)
    assert fetched.status_code == 200
    assert body_of(fetched) == PAYLOAD

    # The copy is the other account's own: it outlives the original.
    UploadedBlob.objects.filter(account=alice.account).delete()
    assert body_of(download(jmap_client, alice.basic, work.accountid, copied_id)) == PAYLOAD


def test_unknown_blob_is_not_copied(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    work = second_account(alice, "alice-work")
    bobs = upload_ok(jmap_client, bob.basic, bob.account_id, b"bob's secret")
    mine = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    [[_name, result, _id]] = call(
        jmap_client,
        alice.basic,
        [
            "Blob/copy",
            {"fromAccountId": alice.account_id, "accountId": work.accountid, "blobIds": [mine, bobs, "Bmissing"]},
            "c1",
        ],
    )
    assert set(result["copied"]) == {mine}
    assert set(result["notCopied"]) == {bobs, "Bmissing"}
    assert all(error["type"] == "notFound" for error in result["notCopied"].values())
    assert not UploadedBlob.objects.filter(
        account=work, sha256__in=UploadedBlob.objects.filter(account=bob.account).values("sha256")
    ).exists()


def test_copy_into_a_foreign_account_is_account_not_found(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    [[name, result, _id]] = call(
        jmap_client,
        alice.basic,
        ["Blob/copy", {"fromAccountId": alice.account_id, "accountId": bob.account_id, "blobIds": [blob_id]}, "c1"],
    )
    assert name == "error"
    assert result["type"] == "accountNotFound"
    assert not UploadedBlob.objects.filter(account=bob.account).exists()
    assert download(jmap_client, bob.basic, bob.account_id, blob_id).status_code == 404


def test_copy_out_of_a_foreign_account_is_from_account_not_found(
    jmap_client: Client, alice: Persona, mallory: Persona
) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, PAYLOAD)
    [[name, result, _id]] = call(
        jmap_client,
        mallory.basic,
        ["Blob/copy", {"fromAccountId": alice.account_id, "accountId": mallory.account_id, "blobIds": [blob_id]}, "c1"],
    )
    assert name == "error"
    assert result["type"] == "fromAccountNotFound"
    assert not UploadedBlob.objects.filter(account=mallory.account).exists()


def test_bad_arguments_are_invalid_arguments(jmap_client: Client, alice: Persona) -> None:
    responses = call(
        jmap_client,
        alice.basic,
        ["Blob/copy", {"fromAccountId": alice.account_id, "accountId": alice.account_id, "blobIds": "B1"}, "a"],
        ["Blob/copy", {"fromAccountId": 7, "accountId": alice.account_id, "blobIds": []}, "b"],
        ["Blob/copy", {"fromAccountId": alice.account_id, "accountId": alice.account_id, "blobIds": [1]}, "c"],
    )
    assert [(name, args["type"]) for name, args, _id in responses] == [("error", "invalidArguments")] * 3
