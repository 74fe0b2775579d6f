"""PushSubscription/get and /set (RFC 8620 §7.2.1-§7.2.2) through the API:
no accountId or state, url and keys never returned, create validation,
expires capped, verification code checks, immutability, and isolation
between logins."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from jmapcore.models.push_subscription import PushSubscription
from jmapcore.pushsub.subscriptions import PUSH_MAX_LIFETIME
from tests.jmapcore.push_subscription.conftest import PushClient, PushReceiver
from tests.jmapcore.push_subscription.test_webpush_encrypt import AUTH, UA_PUBLIC

pytestmark = pytest.mark.usefixtures("private_push_allowed")


def utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def code_of(sub_id: str) -> str:
    return PushSubscription.objects.get(jmap_id=sub_id).verification_code


# -- /get -------------------------------------------------------------------------------


def test_get_has_no_account_id_and_no_state(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    assert alice_push.get() == {"list": [], "notFound": []}
    created = alice_push.create(url=push_receiver.url(), types=["Email"])
    result = alice_push.get()
    assert set(result) == {"list", "notFound"}
    assert result["list"] == [
        {
            "id": created["id"],
            "deviceClientId": "device-1",
            "verificationCode": None,
            "expires": created["expires"],
            "types": ["Email"],
        }
    ]


def test_get_never_returns_url_or_keys(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    created = alice_push.create(url=push_receiver.url(), keys={"p256dh": UA_PUBLIC, "auth": AUTH})
    [listed] = alice_push.get(ids=[created["id"]])["list"]
    assert "url" not in listed and "keys" not in listed
    for forbidden in (["url"], ["keys"], ["id", "url", "expires"]):
        error = alice_push.error("PushSubscription/get", ids=None, properties=forbidden)
        assert error["type"] == "forbidden"


def test_get_properties_and_unknown_ids(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    created = alice_push.create(url=push_receiver.url())
    result = alice_push.get(ids=[created["id"], "pnosuchthing", created["id"]], properties=["expires"])
    assert result["list"] == [{"id": created["id"], "expires": created["expires"]}]
    assert result["notFound"] == ["pnosuchthing"]
    assert alice_push.error("PushSubscription/get", ids=None, properties=["nope"])["type"] == "invalidArguments"


def test_get_shows_the_code_only_once_the_client_has_set_it(
    alice_push: PushClient, push_receiver: PushReceiver
) -> None:
    created = alice_push.create(url=push_receiver.url())
    assert alice_push.get()["list"][0]["verificationCode"] is None
    code = code_of(created["id"])
    assert alice_push.update(created["id"], verificationCode=code)["updated"] == {created["id"]: None}
    assert alice_push.get()["list"][0]["verificationCode"] == code


def test_creation_ids_resolve_in_the_same_request(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
    from tests.jmapcore.push_subscription.conftest import USING

    body = jmap_request(
        ["PushSubscription/set", {"create": {"n": {"deviceClientId": "d", "url": push_receiver.url()}}}, "0"],
        ["PushSubscription/get", {"ids": ["#n"]}, "1"],
        using=USING,
    )
    responses = method_responses(api_post(alice_push.client, alice_push.persona.basic, body))
    created_id = responses[0][1]["created"]["n"]["id"]
    assert [item["id"] for item in responses[1][1]["list"]] == [created_id]


# -- /set create -------------------------------------------------------------------------------


def test_create_answers_id_defaults_and_the_capped_expiry(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    before = timezone.now().replace(microsecond=0)
    created = alice_push.create(url=push_receiver.url(), types=None)
    assert set(created) == {"id", "expires", "keys", "verificationCode"}
    assert created["keys"] is None and created["verificationCode"] is None
    expires = parse(created["expires"])
    assert before + PUSH_MAX_LIFETIME <= expires <= timezone.now() + PUSH_MAX_LIFETIME
    result = alice_push.ok("PushSubscription/set", create={"x": {"deviceClientId": "d", "url": push_receiver.url()}})
    assert set(result) == {"created", "updated", "destroyed", "notCreated", "notUpdated", "notDestroyed"}


def test_expires_too_far_ahead_is_capped_and_reported(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    asked = utc(timezone.now() + timedelta(days=30))
    created = alice_push.create(url=push_receiver.url(), expires=asked)
    assert parse(created["expires"]) <= timezone.now() + PUSH_MAX_LIFETIME
    assert created["expires"] != asked
    stored = PushSubscription.objects.get(jmap_id=created["id"]).expires
    assert utc(stored) == created["expires"]


def test_expires_within_the_cap_is_kept(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    asked = utc(timezone.now() + timedelta(days=2))
    created = alice_push.create(url=push_receiver.url(), expires=asked)
    assert "expires" not in created
    assert alice_push.get()["list"][0]["expires"] == asked


@pytest.mark.parametrize(
    ("properties", "bad"),
    [
        ({"url": None}, ["url"]),
        ({"deviceClientId": None, "url": "URL"}, ["deviceClientId"]),
        ({"deviceClientId": "", "url": "URL"}, ["deviceClientId"]),
        ({"url": "URL", "verificationCode": "guess"}, ["verificationCode"]),
        ({"url": "URL", "id": "pmine"}, ["id"]),
        ({"url": "URL", "colour": "red"}, ["colour"]),
        ({"url": "URL", "types": "Email"}, ["types"]),
        ({"url": "URL", "types": ["Email", 3]}, ["types"]),
        ({"url": "URL", "expires": "tomorrow"}, ["expires"]),
        ({"url": "URL", "expires": "2001-01-01T00:00:00Z"}, ["expires"]),
        ({"url": "URL", "keys": {"p256dh": UA_PUBLIC}}, ["keys"]),
        ({"url": "URL", "keys": {"p256dh": "AAAA", "auth": AUTH}}, ["keys"]),
        ({"url": "URL", "keys": {"p256dh": UA_PUBLIC, "auth": "AAAA"}}, ["keys"]),
        ({"url": 42}, ["url"]),
        ({"url": "ftp://127.0.0.1/x"}, ["url"]),
        ({"url": "https://no-such-host.invalid/push"}, ["url"]),
    ],
)
def test_bad_creates_are_invalid_properties(
    alice_push: PushClient, push_receiver: PushReceiver, properties: dict[str, object], bad: list[str]
) -> None:
    values = {key: (push_receiver.url() if value == "URL" else value) for key, value in properties.items()}
    error = alice_push.not_created(**values)
    assert error["type"] == "invalidProperties"
    assert error["properties"] == bad
    assert PushSubscription.objects.count() == 0


def test_private_and_plain_http_urls_are_refused_by_default(
    alice_push: PushClient, push_receiver: PushReceiver, settings: object
) -> None:
    settings.JMAP_PUSH_ALLOW_PRIVATE = False  # type: ignore[attr-defined]
    settings.JMAP_PUSH_ALLOW_HTTP = False  # type: ignore[attr-defined]
    for url in ("https://127.0.0.1/push", "https://10.0.0.1/push", "https://[::1]/push", "https://169.254.169.254/"):
        error = alice_push.not_created(url=url)
        assert error["type"] == "invalidProperties" and error["properties"] == ["url"]
        assert "public" in error["description"]
    error = alice_push.not_created(url="http://8.8.8.8/push")
    assert error["properties"] == ["url"] and "https" in error["description"]
    settings.JMAP_PUSH_ALLOW_HTTP = True  # type: ignore[attr-defined]
    assert "public" in alice_push.not_created(url=push_receiver.url())["description"]
    assert push_receiver.received == []


# -- /set update and destroy -------------------------------------------------------------------------


def test_wrong_verification_code_is_invalid_properties(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    created = alice_push.create(url=push_receiver.url())
    for wrong in ("0" * 32, "", 7):
        result = alice_push.update(created["id"], verificationCode=wrong)
        error = result["notUpdated"][created["id"]]
        assert error["type"] == "invalidProperties" and error["properties"] == ["verificationCode"]
    assert not PushSubscription.objects.get(jmap_id=created["id"]).verified


def test_immutable_properties_cannot_change(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    created = alice_push.create(url=push_receiver.url())
    for patch in (
        {"url": push_receiver.url("/other")},
        {"deviceClientId": "device-2"},
        {"keys": {"p256dh": UA_PUBLIC, "auth": AUTH}},
        {"id": "pother"},
    ):
        error = alice_push.update(created["id"], **patch)["notUpdated"][created["id"]]
        assert error["type"] == "invalidProperties", patch
    # The same value is not a change (RFC 8620 §5.3).
    assert alice_push.update(created["id"], deviceClientId="device-1")["updated"] == {created["id"]: None}


def test_update_expires_is_capped_and_types_change(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    created = alice_push.create(url=push_receiver.url(), expires=utc(timezone.now() + timedelta(days=1)))
    result = alice_push.update(created["id"], expires=utc(timezone.now() + timedelta(days=60)), types=["Mailbox"])
    capped = result["updated"][created["id"]]["expires"]
    assert parse(capped) <= timezone.now() + PUSH_MAX_LIFETIME
    assert alice_push.get()["list"][0]["expires"] == capped
    assert alice_push.get()["list"][0]["types"] == ["Mailbox"]
    kept = utc(timezone.now() + timedelta(days=3))
    assert alice_push.update(created["id"], expires=kept)["updated"] == {created["id"]: None}
    assert alice_push.update(created["id"], types=None)["updated"] == {created["id"]: None}
    assert alice_push.get()["list"][0]["types"] is None


def test_destroy_erases_the_subscription(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    created = alice_push.create(url=push_receiver.url())
    result = alice_push.ok("PushSubscription/set", destroy=[created["id"], "pnothere"])
    assert result["destroyed"] == [created["id"]]
    assert result["notDestroyed"] == {"pnothere": {"type": "notFound"}}
    assert not PushSubscription.objects.filter(jmap_id=created["id"]).exists()
    assert alice_push.get()["list"] == []


def test_expired_subscriptions_are_gone_for_the_client(alice_push: PushClient, push_receiver: PushReceiver) -> None:
    created = alice_push.create(url=push_receiver.url())
    PushSubscription.objects.filter(jmap_id=created["id"]).update(expires=timezone.now() - timedelta(seconds=1))
    assert alice_push.get()["list"] == []
    assert alice_push.update(created["id"], types=["Email"])["notUpdated"][created["id"]]["type"] == "notFound"


# -- isolation ----------------------------------------------------------------------------------------


def test_another_login_cannot_see_or_touch_a_subscription(
    alice_push: PushClient, mallory_push: PushClient, push_receiver: PushReceiver
) -> None:
    created = alice_push.create(url=push_receiver.url())
    sub_id = created["id"]
    assert mallory_push.get() == {"list": [], "notFound": []}
    assert mallory_push.get(ids=[sub_id]) == {"list": [], "notFound": [sub_id]}
    code = code_of(sub_id)
    result = mallory_push.ok(
        "PushSubscription/set", update={sub_id: {"verificationCode": code, "types": ["Email"]}}, destroy=[sub_id]
    )
    assert result["notUpdated"] == {sub_id: {"type": "willDestroy"}}
    assert result["notDestroyed"] == {sub_id: {"type": "notFound"}}
    result = mallory_push.update(sub_id, verificationCode=code)
    assert result["notUpdated"] == {sub_id: {"type": "notFound"}}
    sub = PushSubscription.objects.get(jmap_id=sub_id)
    assert not sub.verified and sub.types is None
    assert [item["id"] for item in alice_push.get()["list"]] == [sub_id]
