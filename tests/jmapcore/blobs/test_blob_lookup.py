"""Blob/lookup (RFC 9404 §4.3) over the data types registered in BLOB_REFERENCES.

The tests register a small data type of their own ("Note", under a test
capability): which notes use which blob is kept in a table per account.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from accounts.models import Account
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.methods.blob import BLOB_CAPABILITY
from jmapcore.registry import BLOB_REFERENCES, CAPABILITIES, blob_references, capability
from tests.jmapcore.blobs.conftest import BLOB_USING, call, upload_ok
from tests.personas import Persona

NOTES_CAPABILITY = "urn:example:jmap-proxy:test-notes"
# accountid -> note id -> blob ids the note uses
NOTES: dict[str, dict[str, list[str]]] = {}


def _notes_using(account: Account, blob_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for note_id, used in sorted(NOTES.get(account.accountid, {}).items()):
        for blob_id in used:
            if blob_id in blob_ids:
                found.setdefault(blob_id, []).append(note_id)
    return found


@pytest.fixture
def notes_type() -> Iterator[None]:
    capability(NOTES_CAPABILITY, session_value=dict, account_value=lambda account: {})
    blob_references("Note", capability=NOTES_CAPABILITY)(_notes_using)
    NOTES.clear()
    yield
    NOTES.clear()
    BLOB_REFERENCES.pop("Note", None)
    CAPABILITIES.pop(NOTES_CAPABILITY, None)


def lookup(client: Client, persona: Persona, using: list[str], **args: object) -> tuple[str, dict]:
    [[name, result, _id]] = call(
        client, persona.basic, ["Blob/lookup", {"accountId": persona.account_id, **args}, "l"], using=using
    )
    return name, result


def test_matched_ids_per_type(jmap_client: Client, alice: Persona, bob: Persona, notes_type: None) -> None:
    used = upload_ok(jmap_client, alice.basic, alice.account_id, b"attached twice")
    unused = upload_ok(jmap_client, alice.basic, alice.account_id, b"attached nowhere")
    NOTES[alice.account_id] = {"n1": [used], "n2": [used, "Bgone"], "n3": []}
    # Bob's notes never show up in Alice's answer.
    NOTES[bob.account_id] = {"b1": [used]}

    name, result = lookup(
        jmap_client, alice, [*BLOB_USING, NOTES_CAPABILITY], typeNames=["Note"], ids=[used, unused, "Bnever"]
    )
    assert name == "Blob/lookup"
    assert result["accountId"] == alice.account_id
    assert result["list"] == [
        {"id": used, "matchedIds": {"Note": ["n1", "n2"]}},
        {"id": unused, "matchedIds": {"Note": []}},
    ]
    assert result["notFound"] == ["Bnever"]


def test_unknown_type_name_is_unknown_data_type(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, b"x")
    name, result = lookup(jmap_client, alice, BLOB_USING, typeNames=["NoSuchType"], ids=[blob_id])
    assert (name, result["type"]) == ("error", "unknownDataType")


def test_type_whose_capability_is_not_used_is_unknown_data_type(
    jmap_client: Client, alice: Persona, notes_type: None
) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, b"x")
    name, result = lookup(jmap_client, alice, BLOB_USING, typeNames=["Note"], ids=[blob_id])
    assert (name, result["type"]) == ("error", "unknownDataType")


def test_lookup_needs_the_blob_capability_and_valid_arguments(
    jmap_client: Client, alice: Persona, bob: Persona, notes_type: None
) -> None:
    using = [CORE_CAPABILITY, NOTES_CAPABILITY]
    name, result = lookup(jmap_client, alice, using, typeNames=["Note"], ids=[])
    assert (name, result["type"]) == ("error", "unknownMethod")
    full = [BLOB_CAPABILITY, *using]
    name, result = lookup(jmap_client, alice, full, typeNames="Note", ids=[])
    assert (name, result["type"]) == ("error", "invalidArguments")
    name, result = lookup(jmap_client, alice, full, typeNames=["Note"], ids=None)
    assert (name, result["type"]) == ("error", "invalidArguments")
    [[name, result, _id]] = call(
        jmap_client,
        alice.basic,
        ["Blob/lookup", {"accountId": bob.account_id, "typeNames": ["Note"], "ids": []}, "l"],
        using=full,
    )
    assert (name, result["type"]) == ("error", "accountNotFound")


def test_capability_advertises_supported_type_names(alice: Persona, notes_type: None) -> None:
    value = CAPABILITIES[BLOB_CAPABILITY].account_value(alice.account)
    assert value is not None
    assert "Note" in value["supportedTypeNames"]
    assert value["supportedDigestAlgorithms"] == ["sha", "sha-256"]
    assert value["maxDataSources"] >= 64
    assert value["maxSizeBlobSet"] > 0
    assert CAPABILITIES[BLOB_CAPABILITY].session_value() == {}
