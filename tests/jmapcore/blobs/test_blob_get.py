"""Blob/get (RFC 9404 §4.2): contents as text or base64, digests, ranges."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from django.test import Client

from tests.jmapcore.blobs.conftest import call, upload_ok
from tests.personas import Persona

TEXT = "Grüße aus Köln — 2026".encode()
NOT_UTF8 = b"caf\xe9 latin-1 \xff\xfe"


def get(client: Client, persona: Persona, **args: Any) -> tuple[str, dict[str, Any]]:
    [[name, result, _id]] = call(client, persona.basic, ["Blob/get", {"accountId": persona.account_id, **args}, "g"])
    return name, result


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def test_digests_match_hashlib(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, TEXT)
    _name, result = get(jmap_client, alice, ids=[blob_id], properties=["digest:sha", "digest:sha-256", "size"])
    [item] = result["list"]
    assert item == {
        "id": blob_id,
        "digest:sha": b64(hashlib.sha1(TEXT).digest()),  # noqa: S324 - the algorithm under test
        "digest:sha-256": b64(hashlib.sha256(TEXT).digest()),
        "size": len(TEXT),
    }


def test_text_base64_and_default_properties(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, TEXT)
    _name, result = get(jmap_client, alice, ids=[blob_id], properties=["data:asText", "data:asBase64"])
    [item] = result["list"]
    assert item["data:asText"] == TEXT.decode()
    assert base64.b64decode(item["data:asBase64"]) == TEXT
    assert "isEncodingProblem" not in item and "isTruncated" not in item

    _name, default = get(jmap_client, alice, ids=[blob_id])
    assert default["list"] == [{"id": blob_id, "data:asText": TEXT.decode(), "size": len(TEXT)}]
    assert default["accountId"] == alice.account_id


def test_offset_and_length_select_a_range(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, TEXT)
    part = TEXT[3:12]
    _name, result = get(
        jmap_client, alice, ids=[blob_id], offset=3, length=9, properties=["data:asBase64", "digest:sha-256", "size"]
    )
    [item] = result["list"]
    assert base64.b64decode(item["data:asBase64"]) == part
    assert item["digest:sha-256"] == b64(hashlib.sha256(part).digest())
    assert item["size"] == len(TEXT)  # the whole blob, not the range
    assert "isTruncated" not in item

    _name, past = get(jmap_client, alice, ids=[blob_id], offset=len(TEXT) - 2, length=10, properties=["data:asBase64"])
    [item] = past["list"]
    assert base64.b64decode(item["data:asBase64"]) == TEXT[-2:]
    assert item["isTruncated"] is True

    _name, beyond = get(jmap_client, alice, ids=[blob_id], offset=len(TEXT) + 5, properties=["data:asBase64"])
    assert beyond["list"][0]["data:asBase64"] == ""


def test_non_utf8_is_an_encoding_problem(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, NOT_UTF8)
    _name, as_text = get(jmap_client, alice, ids=[blob_id], properties=["data:asText"])
    assert as_text["list"] == [{"id": blob_id, "data:asText": None, "isEncodingProblem": True}]

    _name, as_data = get(jmap_client, alice, ids=[blob_id], properties=["data"])
    [item] = as_data["list"]
    assert item["isEncodingProblem"] is True
    assert "data:asText" not in item
    assert base64.b64decode(item["data:asBase64"]) == NOT_UTF8

    # A range that is valid UTF-8 on its own has no problem.
    _name, clean = get(jmap_client, alice, ids=[blob_id], properties=["data:asText"], length=3)
    assert clean["list"] == [{"id": blob_id, "data:asText": "caf"}]


def test_unknown_and_foreign_ids_are_not_found(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    bobs = upload_ok(jmap_client, bob.basic, bob.account_id, b"bob's")
    mine = upload_ok(jmap_client, alice.basic, alice.account_id, b"alice's")
    _name, result = get(jmap_client, alice, ids=[mine, bobs, "Bnope", "#nothing"], properties=["size"])
    assert [item["id"] for item in result["list"]] == [mine]
    assert result["notFound"] == [bobs, "Bnope", "#nothing"]


def test_bad_arguments(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, TEXT)
    cases: list[dict[str, Any]] = [
        {"ids": None},
        {"ids": [blob_id], "properties": ["colour"]},
        {"ids": [blob_id], "properties": ["digest:md5"]},
        {"ids": [blob_id], "offset": -1},
        {"ids": [blob_id], "length": "5"},
        {"ids": "B1"},
    ]
    for args in cases:
        name, result = get(jmap_client, alice, **args)
        assert (name, result["type"]) == ("error", "invalidArguments"), args
    [[name, result, _id]] = call(jmap_client, alice.basic, ["Blob/get", {"accountId": bob.account_id, "ids": []}, "g"])
    assert (name, result["type"]) == ("error", "accountNotFound")
