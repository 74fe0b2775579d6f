"""Blob/upload (RFC 9404 §4.1): blobs made of inline data and ranges of other blobs."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client

from jmapcore.limits import CORE_CAPABILITY, CoreLimits
from jmapcore.methods.blob import MAX_DATA_SOURCES
from jmapcore.models import UploadedBlob
from tests.jmapcore.apiclient import api_post, jmap_request
from tests.jmapcore.blobs.conftest import BLOB_USING, body_of, call, download, upload_ok
from tests.personas import Persona

SENTENCE = "A slow green turtle crossed the wide road."


def upload_call(account_id: str, create: dict[str, Any], call_id: str = "u") -> list[Any]:
    return ["Blob/upload", {"accountId": account_id, "create": create}, call_id]


def test_mixed_sources_and_a_creation_reference_in_one_request(jmap_client: Client, alice: Persona) -> None:
    uploaded = upload_ok(jmap_client, alice.basic, alice.account_id, b"[binary \xfe\xff part]")
    request = jmap_request(
        upload_call(alice.account_id, {"words": {"data": [{"data:asText": SENTENCE}], "type": "text/plain"}}, "u1"),
        upload_call(
            alice.account_id,
            {
                "mix": {
                    "data": [
                        {"data:asText": "Was it"},
                        {"blobId": "#words", "offset": 1, "length": 5},  # " slow"
                        {"data:asBase64": base64.b64encode(b"? ").decode()},
                        {"blobId": uploaded, "offset": 8, "length": 2},  # b"\xfe\xff"
                        {"data:asText": " ok"},
                    ]
                }
            },
            "u2",
        ),
        [
            "Blob/get",
            {"accountId": alice.account_id, "ids": ["#mix", "#words"], "properties": ["data:asBase64", "size"]},
            "g",
        ],
        using=BLOB_USING,
        createdIds={},
    )
    response = api_post(jmap_client, alice.basic, request)
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    [[n1, r1, _], [n2, r2, _], [n3, r3, _]] = body["methodResponses"]
    assert (n1, n2, n3) == ("Blob/upload", "Blob/upload", "Blob/get")
    words = r1["created"]["words"]
    assert words["size"] == len(SENTENCE) and words["type"] == "text/plain"
    expected = b"Was it slow? \xfe\xff ok"
    mix = r2["created"]["mix"]
    assert mix["size"] == len(expected)
    assert mix["type"] == "application/octet-stream"
    assert r2["notCreated"] is None
    assert body["createdIds"] == {"words": words["id"], "mix": mix["id"]}

    got = {item["id"]: item for item in r3["list"]}
    assert base64.b64decode(got[mix["id"]]["data:asBase64"]) == expected
    assert base64.b64decode(got[words["id"]]["data:asBase64"]) == SENTENCE.encode()
    assert r3["notFound"] == []

    # A blob made by Blob/upload downloads like an HTTP upload.
    assert body_of(download(jmap_client, alice.basic, alice.account_id, mix["id"])) == expected


def test_a_creation_may_use_an_earlier_one_of_the_same_call(jmap_client: Client, alice: Persona) -> None:
    [[_n, result, _id]] = call(
        jmap_client,
        alice.basic,
        upload_call(
            alice.account_id,
            {
                "first": {"data": [{"data:asText": "abc"}]},
                "second": {"data": [{"blobId": "#first"}, {"blobId": "#first", "offset": 1}]},
            },
        ),
    )
    assert result["created"]["second"]["size"] == 5
    assert result["notCreated"] is None


@pytest.mark.parametrize(
    ("upload", "error_type"),
    [
        ({"data": [{"data:asText": "a", "blobId": "Bx"}]}, "invalidProperties"),
        ({"data": [{}]}, "invalidProperties"),
        ({"data": [{"data:asBase64": "!!not base64!!"}]}, "invalidProperties"),
        ({"data": [{"data:asText": 5}]}, "invalidProperties"),
        ({"data": [{"data:asText": "a", "offset": 1}]}, "invalidProperties"),
        ({"data": "text"}, "invalidProperties"),
        ({"data": [{"data:asText": "a"}], "type": "not a type"}, "invalidProperties"),
        ({"data": [{"data:asText": "a"}], "colour": "red"}, "invalidProperties"),
        ({"data": [{"blobId": "Bdoesnotexist"}]}, "notFound"),
        ({"data": [{"blobId": "#nobody"}]}, "notFound"),
        ({"data": [{"data:asText": "x"}] * (MAX_DATA_SOURCES + 1)}, "invalidProperties"),
        ("not an object", "invalidProperties"),
    ],
)
def test_bad_creations_fail_alone(jmap_client: Client, alice: Persona, upload: Any, error_type: str) -> None:
    [[name, result, _id]] = call(
        jmap_client,
        alice.basic,
        upload_call(alice.account_id, {"bad": upload, "good": {"data": [{"data:asText": "ok"}]}}),
    )
    assert name == "Blob/upload"
    assert set(result["created"]) == {"good"}
    assert result["notCreated"]["bad"]["type"] == error_type
    if error_type == "notFound":
        assert result["notCreated"]["bad"]["notFound"] == [upload["data"][0]["blobId"]]
    assert UploadedBlob.objects.filter(account=alice.account).count() == 1


def test_range_past_the_end_is_invalid(jmap_client: Client, alice: Persona) -> None:
    blob_id = upload_ok(jmap_client, alice.basic, alice.account_id, b"0123456789")
    [[_n, result, _id]] = call(
        jmap_client,
        alice.basic,
        upload_call(
            alice.account_id,
            {
                "ok": {"data": [{"blobId": blob_id, "offset": 10}]},
                "long": {"data": [{"blobId": blob_id, "offset": 5, "length": 6}]},
                "far": {"data": [{"blobId": blob_id, "offset": 11}]},
            },
        ),
    )
    assert result["created"]["ok"]["size"] == 0
    assert result["notCreated"]["long"]["type"] == "invalidProperties"
    assert result["notCreated"]["far"]["type"] == "invalidProperties"


def test_someone_elses_blob_cannot_be_a_source(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    bobs = upload_ok(jmap_client, bob.basic, bob.account_id, b"bob only")
    [[_n, result, _id]] = call(
        jmap_client, alice.basic, upload_call(alice.account_id, {"steal": {"data": [{"blobId": bobs}]}})
    )
    assert result["notCreated"]["steal"]["type"] == "notFound"
    assert not UploadedBlob.objects.filter(account=alice.account).exists()


def test_over_max_size_blob_set_is_too_large(jmap_client: Client, alice: Persona, small_limits: CoreLimits) -> None:
    half = "h" * 600
    [[_n, result, _id]] = call(
        jmap_client,
        alice.basic,
        upload_call(
            alice.account_id,
            {
                "big": {"data": [{"data:asText": half}, {"data:asText": half}]},
                "fits": {"data": [{"data:asText": half}]},
            },
        ),
    )
    assert result["notCreated"]["big"]["type"] == "tooLarge"
    assert result["created"]["fits"]["size"] == 600


def test_needs_the_blob_capability_and_an_own_account(jmap_client: Client, alice: Persona, bob: Persona) -> None:
    create = {"x": {"data": [{"data:asText": "x"}]}}
    [[name, result, _id]] = call(
        jmap_client, alice.basic, upload_call(alice.account_id, create), using=[CORE_CAPABILITY]
    )
    assert (name, result["type"]) == ("error", "unknownMethod")
    [[name, result, _id]] = call(jmap_client, alice.basic, upload_call(bob.account_id, create))
    assert (name, result["type"]) == ("error", "accountNotFound")
    [[name, result, _id]] = call(jmap_client, alice.basic, ["Blob/upload", {"accountId": alice.account_id}, "u"])
    assert (name, result["type"]) == ("error", "invalidArguments")
    assert not UploadedBlob.objects.exists()
