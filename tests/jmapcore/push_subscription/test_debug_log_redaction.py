"""JMAP_DEBUG logs PushSubscription requests and responses without the secrets
in them (jmapcore.debuglog): the RFC 8291 ``keys.auth`` secret, the
``verificationCode`` (RFC 8620 §7.2.2) and the path of the push URL (a Web Push
endpoint is a capability), while the rest stays readable."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import override_settings

from jmapcore.pushsub.webpush_encrypt import b64url_encode
from tests.jmapcore.push_subscription.conftest import PushClient, PushReceiver
from tests.jmapcore.push_subscription.test_webpush_encrypt import public_bytes, ua_decrypt

pytestmark = pytest.mark.usefixtures("private_push_allowed", "celery_eager")


def test_push_secrets_are_redacted_from_the_debug_log(
    alice_push: PushClient,
    push_receiver: PushReceiver,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ua = ec.generate_private_key(ec.SECP256R1())
    auth_secret = b"alice-auth-16oct"
    keys = {"p256dh": b64url_encode(public_bytes(ua)), "auth": b64url_encode(auth_secret)}
    url = push_receiver.url("/push/alice-capability-path-9f3a")
    with override_settings(JMAP_DEBUG=True), caplog.at_level(logging.DEBUG, logger="jmap.debug"):
        with django_capture_on_commit_callbacks(execute=True):
            created = alice_push.create(url=url, keys=keys, deviceClientId="alice-phone")
        [verification] = push_receiver.received
        code = json.loads(ua_decrypt(verification.body, ua_private=ua, auth_secret=auth_secret))["verificationCode"]
        assert alice_push.update(created["id"], verificationCode=code)["updated"] == {created["id"]: None}
        alice_push.get()
    text = "\n".join(record.getMessage() for record in caplog.records if record.name == "jmap.debug")

    for secret in (keys["auth"], code, "alice-capability-path-9f3a", alice_push.persona.password):
        assert secret not in text
    # What is not secret is still there to debug with.
    assert keys["p256dh"] in text
    assert "alice-phone" in text
    assert f"http://127.0.0.1:{push_receiver.port}/" in text
    assert "PushSubscription/set" in text and "PushSubscription/get" in text
    assert '"verificationCode": "[redacted]"' in text
