"""Push delivery to a real HTTP receiver on 127.0.0.1 (RFC 8620 §7.2):
the PushVerification first and nothing else until the client proves it got
it, then StateChange POSTs for JMAP writes filtered by `types`, RFC 8291
encryption when keys are given, retries with backoff, disabling after
repeated failures or a 410, the address check at delivery time (DNS
rebinding), expiry and the periodic purge.

Celery runs eagerly, so the task (and its retries) runs inside the
after-commit callback of the write, as the worker would run it."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone
from pytest_django.fixtures import Settings

from jmapcore.models.push_subscription import PushSubscription
from jmapcore.pushsub.delivery import PUSH_MAX_FAILURES, Outcome, PushKind, pushsub_deliver
from jmapcore.pushsub.subscriptions import push_subscriptions_purge
from jmapcore.pushsub.webpush_encrypt import b64url_encode
from jmapsite.celery import app as celery_app
from tests.jmapcore.push_subscription.conftest import PushClient, PushReceiver
from tests.jmapcore.push_subscription.test_webpush_encrypt import public_bytes, ua_decrypt

pytestmark = pytest.mark.usefixtures("private_push_allowed", "celery_eager")

Capture = Callable[..., AbstractContextManager[Any]]


@pytest.fixture
def capture(django_capture_on_commit_callbacks: Capture) -> Callable[[], AbstractContextManager[Any]]:
    """Run after-commit callbacks (the verification push, state-change publishing)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def subscribe(
    client: PushClient, receiver: PushReceiver, capture: Callable[[], AbstractContextManager[Any]], **properties: Any
) -> tuple[str, str]:
    """Create a subscription; returns (id, the code that arrived in the PushVerification)."""
    properties.setdefault("url", receiver.url())
    seen = len(receiver.received)
    with capture():
        created = client.create(**properties)
    received = receiver.received[seen:]
    assert len(received) == 1
    body = received[0].json()
    assert body["@type"] == "PushVerification" and body["pushSubscriptionId"] == created["id"]
    return created["id"], body["verificationCode"]


def subscribe_verified(
    client: PushClient, receiver: PushReceiver, capture: Callable[[], AbstractContextManager[Any]], **properties: Any
) -> str:
    sub_id, code = subscribe(client, receiver, capture, **properties)
    assert client.update(sub_id, verificationCode=code)["updated"] == {sub_id: None}
    return sub_id


@pytest.fixture
def alice_ready(alice_push: PushClient) -> PushClient:
    """Alice's default identity exists already, so one Identity/set is one state change."""
    alice_push.identities_prime()
    return alice_push


def test_the_delivery_task_is_registered() -> None:
    assert "jmapcore.pushsub.tasks.pushsub_deliver_task" in celery_app.tasks


def test_a_fresh_worker_process_knows_the_delivery_task() -> None:
    """What the worker has after Django's start-up alone (no test module imported it)."""
    code = (
        "import django; django.setup(); from jmapsite.celery import app; "
        "print('jmapcore.pushsub.tasks.pushsub_deliver_task' in app.tasks)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr


def test_verification_push_carries_the_code(alice_push: PushClient, push_receiver: PushReceiver, capture: Any) -> None:
    sub_id, code = subscribe(alice_push, push_receiver, capture)
    [request] = push_receiver.received
    assert request.path == "/push/device-1"
    assert request.headers["content-type"] == "application/json"
    assert int(request.headers["ttl"]) > 0
    assert "content-encoding" not in request.headers
    assert request.json() == {"@type": "PushVerification", "pushSubscriptionId": sub_id, "verificationCode": code}
    assert len(code) >= 32 and code == PushSubscription.objects.get(jmap_id=sub_id).verification_code


def test_nothing_but_the_verification_before_the_code_is_set(
    alice_ready: PushClient, push_receiver: PushReceiver, capture: Any
) -> None:
    sub_id, _ = subscribe(alice_ready, push_receiver, capture)
    with capture():
        alice_ready.identity_create()
    assert len(push_receiver.received) == 1
    # A wrong code does not open the gate either.
    alice_ready.update(sub_id, verificationCode="f" * 32)
    with capture():
        alice_ready.identity_create("Other")
    assert len(push_receiver.received) == 1


def test_a_jmap_write_pushes_a_state_change_after_verification(
    alice_ready: PushClient, push_receiver: PushReceiver, capture: Any
) -> None:
    subscribe_verified(alice_ready, push_receiver, capture)
    with capture():
        result = alice_ready.identity_create()
    [_, push] = push_receiver.received
    assert push.headers["content-type"] == "application/json"
    assert int(push.headers["ttl"]) > 0
    assert push.json() == {"@type": "StateChange", "changed": {"alice": {"Identity": result["newState"]}}}
    sub = PushSubscription.objects.get()
    assert sub.failures == 0 and sub.last_push_at is not None


def test_types_filter_is_honoured(alice_ready: PushClient, push_receiver: PushReceiver, capture: Any) -> None:
    subscribe_verified(alice_ready, push_receiver, capture, url=push_receiver.url("/email-only"), types=["Email"])
    subscribe_verified(
        alice_ready, push_receiver, capture, url=push_receiver.url("/identities"), types=["Identity", "Email"]
    )
    subscribe_verified(alice_ready, push_receiver, capture, url=push_receiver.url("/all"), types=None)
    with capture():
        result = alice_ready.identity_create()
    pushes = {request.path: request.json() for request in push_receiver.received[3:]}
    expected = {"@type": "StateChange", "changed": {"alice": {"Identity": result["newState"]}}}
    assert pushes == {"/identities": expected, "/all": expected}


def test_changes_of_another_login_are_not_pushed(
    alice_ready: PushClient, mallory_push: PushClient, push_receiver: PushReceiver, capture: Any
) -> None:
    subscribe_verified(alice_ready, push_receiver, capture)
    mallory_push.identities_prime()
    with capture():
        mallory_push.identity_create()
    assert len(push_receiver.received) == 1


def test_encrypted_when_keys_are_given(alice_ready: PushClient, push_receiver: PushReceiver, capture: Any) -> None:
    ua = ec.generate_private_key(ec.SECP256R1())
    auth = b"sixteen  octets!"
    keys = {"p256dh": b64url_encode(public_bytes(ua)), "auth": b64url_encode(auth)}
    with capture():
        created = alice_ready.create(url=push_receiver.url(), keys=keys)
    [verification] = push_receiver.received
    assert verification.headers["content-encoding"] == "aes128gcm"
    assert b"verificationCode" not in verification.body
    plain = json.loads(ua_decrypt(verification.body, ua_private=ua, auth_secret=auth))
    assert plain["@type"] == "PushVerification" and plain["pushSubscriptionId"] == created["id"]
    alice_ready.update(created["id"], verificationCode=plain["verificationCode"])
    with capture():
        result = alice_ready.identity_create()
    push = push_receiver.received[1]
    assert push.headers["content-encoding"] == "aes128gcm"
    assert json.loads(ua_decrypt(push.body, ua_private=ua, auth_secret=auth)) == {
        "@type": "StateChange",
        "changed": {"alice": {"Identity": result["newState"]}},
    }


def test_a_failing_url_is_retried_then_disabled(
    alice_push: PushClient, push_receiver: PushReceiver, capture: Any, caplog: pytest.LogCaptureFixture
) -> None:
    push_receiver.default_status = 500
    with caplog.at_level(logging.WARNING, logger="jmap.pushsub"), capture():
        created = alice_push.create(url=push_receiver.url())
    assert len(push_receiver.received) == PUSH_MAX_FAILURES
    assert all(request.json()["@type"] == "PushVerification" for request in push_receiver.received)
    sub = PushSubscription.objects.get(jmap_id=created["id"])
    assert sub.disabled_at is not None and sub.failures == PUSH_MAX_FAILURES
    assert "HTTP 500" in sub.last_error
    assert any("disabled" in record.getMessage() for record in caplog.records)
    assert alice_push.get()["list"] == []
    # Disabled means silent: a direct attempt sends nothing.
    assert pushsub_deliver(subscription_id=sub.pk, kind=PushKind.VERIFICATION).outcome is Outcome.SKIPPED
    assert len(push_receiver.received) == PUSH_MAX_FAILURES


def test_gone_disables_at_once(alice_ready: PushClient, push_receiver: PushReceiver, capture: Any) -> None:
    sub_id = subscribe_verified(alice_ready, push_receiver, capture)
    push_receiver.statuses = [410]
    with capture():
        alice_ready.identity_create()
    assert len(push_receiver.received) == 2
    sub = PushSubscription.objects.get(jmap_id=sub_id)
    assert sub.disabled_at is not None and "410" in sub.last_error
    with capture():
        alice_ready.identity_create("Later")
    assert len(push_receiver.received) == 2


def test_too_many_requests_and_unavailable_are_retried(
    alice_push: PushClient, push_receiver: PushReceiver, capture: Any
) -> None:
    push_receiver.statuses = [429, 503]
    push_receiver.extra_headers = {"Retry-After": "1"}
    with capture():
        created = alice_push.create(url=push_receiver.url())
    assert len(push_receiver.received) == 3
    sub = PushSubscription.objects.get(jmap_id=created["id"])
    assert sub.disabled_at is None and sub.failures == 0 and sub.last_push_at is not None


def test_redirects_are_not_followed(alice_push: PushClient, push_receiver: PushReceiver, capture: Any) -> None:
    push_receiver.statuses = [302]
    with capture():
        created = alice_push.create(url=push_receiver.url())
    assert [request.path for request in push_receiver.received] == ["/push/device-1"]
    sub = PushSubscription.objects.get(jmap_id=created["id"])
    assert sub.failures == 1 and sub.disabled_at is None and "302" in sub.last_error


def test_address_is_checked_again_at_delivery(
    alice_ready: PushClient, push_receiver: PushReceiver, capture: Any, settings: Settings
) -> None:
    """A host that was acceptable at create time but now resolves inside (DNS
    rebinding; here: the operator withdrew the permission) gets nothing."""
    sub_id = subscribe_verified(alice_ready, push_receiver, capture)
    settings.JMAP_PUSH_ALLOW_PRIVATE = False
    with capture():
        alice_ready.identity_create()
    assert len(push_receiver.received) == 1
    sub = PushSubscription.objects.get(jmap_id=sub_id)
    assert sub.disabled_at is not None and "public" in sub.last_error


def test_expired_subscriptions_get_nothing_and_are_purged(
    alice_ready: PushClient, push_receiver: PushReceiver, capture: Any
) -> None:
    expired = subscribe_verified(alice_ready, push_receiver, capture, url=push_receiver.url("/old"))
    live = subscribe_verified(alice_ready, push_receiver, capture, url=push_receiver.url("/new"))
    PushSubscription.objects.filter(jmap_id=expired).update(expires=timezone.now() - timedelta(seconds=1))
    with capture():
        alice_ready.identity_create()
    assert [request.path for request in push_receiver.received[2:]] == ["/new"]
    sub = PushSubscription.objects.get(jmap_id=expired)
    assert pushsub_deliver(subscription_id=sub.pk, kind=PushKind.STATE_CHANGE, changed={}).outcome is Outcome.SKIPPED

    from jmapsite.tasks import push_subscriptions_purge_task

    assert push_subscriptions_purge_task.apply().get() == 1
    assert list(PushSubscription.objects.values_list("jmap_id", flat=True)) == [live]


def test_purge_drops_long_disabled_subscriptions(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    recent = alice_push.create(url=push_receiver.url("/a"))["id"]
    old = alice_push.create(url=push_receiver.url("/b"))["id"]
    now = timezone.now()
    PushSubscription.objects.filter(jmap_id=recent).update(disabled_at=now - timedelta(hours=1))
    PushSubscription.objects.filter(jmap_id=old).update(disabled_at=now - timedelta(days=2))
    assert push_subscriptions_purge(now=now) == 1
    assert list(PushSubscription.objects.values_list("jmap_id", flat=True)) == [recent]


def test_a_refused_connection_counts_as_a_failure(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    created = alice_push.create(url="http://127.0.0.1:9/push")  # the discard port: nobody listens
    sub = PushSubscription.objects.get(jmap_id=created["id"])
    result = pushsub_deliver(subscription_id=sub.pk, kind=PushKind.VERIFICATION, attempt=2)
    assert result.outcome is Outcome.RETRY and result.retry_in == 120
    sub.refresh_from_db()
    assert sub.failures == 1 and sub.disabled_at is None


def test_the_request_goes_to_the_checked_address_with_the_host_name(
    alice_push: PushClient, push_receiver: PushReceiver, capture: Any
) -> None:
    """http://localhost: the connection is made to an address the guard saw
    (trying each; the receiver listens on 127.0.0.1 only) and Host names the host."""
    with capture():
        alice_push.create(url=f"http://localhost:{push_receiver.port}/by-name")
    [request] = push_receiver.received
    assert request.path == "/by-name"
    assert request.headers["host"] == f"localhost:{push_receiver.port}"
