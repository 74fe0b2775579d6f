"""JMAP_DEBUG logs request and response bodies, but never credentials."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, override_settings

from jmapcore.debuglog import REDACTED, secrets_redact
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona


def debug_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records if record.name == "jmap.debug")


def test_bodies_are_logged_without_secrets(
    jmap_client: Client, alice: Persona, caplog: pytest.LogCaptureFixture
) -> None:
    arguments = {"marker": "visible-value", "password": "hunter2-secret", "nested": [{"accessToken": "tok-xyz"}]}
    with override_settings(JMAP_DEBUG=True), caplog.at_level(logging.DEBUG, logger="jmap.debug"):
        method_responses(api_post(jmap_client, alice.basic, jmap_request(["Core/echo", arguments, "c1"])))
        api_post(jmap_client, alice.bearer, jmap_request(["Core/echo", {}, "c2"]))
    text = debug_text(caplog)
    assert text.count("visible-value") == 2  # the request and the echoed response
    assert "c2" in text
    assert REDACTED in text
    for secret in ("hunter2-secret", "tok-xyz", alice.password, alice.token, alice.basic.split()[1]):
        assert secret not in text


def test_request_errors_are_logged_but_not_raw_bodies(
    jmap_client: Client, alice: Persona, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(JMAP_DEBUG=True), caplog.at_level(logging.DEBUG, logger="jmap.debug"):
        api_post(jmap_client, alice.basic, b'{"password": "not-json-secret"')
    text = debug_text(caplog)
    assert "notJSON" in text
    assert "not-json-secret" not in text


def test_nothing_is_logged_without_jmap_debug(
    jmap_client: Client, alice: Persona, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(JMAP_DEBUG=False), caplog.at_level(logging.DEBUG, logger="jmap.debug"):
        method_responses(api_post(jmap_client, alice.basic, jmap_request(["Core/echo", {"m": "quiet"}, "c1"])))
    assert debug_text(caplog) == ""


def test_redaction_keeps_structure() -> None:
    value = {"Password": "a", "list": [{"refresh_token": "b", "id": 1}], "authorization": "c", "name": "keep"}
    assert secrets_redact(value) == {
        "Password": REDACTED,
        "list": [{"refresh_token": REDACTED, "id": 1}],
        "authorization": REDACTED,
        "name": "keep",
    }


def test_push_and_management_shaped_secrets_are_redacted() -> None:
    subscription = {
        "deviceClientId": "alice-phone",
        "url": "https://push.example.test/wpush/v2/gAAAA-capability?x=1",
        "keys": {"p256dh": "BPublicKey", "auth": "c2l4dGVlbiBvY3RldHMh"},
        "verificationCode": "0123456789abcdef",
        "types": ["Email"],
    }
    management = {"accountid": "alice", "password": "imap-pw", "loginPassword": "login-pw",
                  "headers": {"Authorization": "Bearer jmap_x", "X-Other": "kept"}}  # fmt: skip
    assert secrets_redact(subscription) == {
        "deviceClientId": "alice-phone",
        "url": f"https://push.example.test/{REDACTED}",
        "keys": {"p256dh": "BPublicKey", "auth": REDACTED},
        "verificationCode": REDACTED,
        "types": ["Email"],
    }
    assert secrets_redact(management) == {
        "accountid": "alice", "password": REDACTED, "loginPassword": REDACTED,
        "headers": {"Authorization": REDACTED, "X-Other": "kept"},
    }  # fmt: skip
    # A "url" outside a PushSubscription is not a capability and stays.
    assert secrets_redact({"url": "https://example.test/a"}) == {"url": "https://example.test/a"}
