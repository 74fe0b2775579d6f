"""Whatever a client sends to PushSubscription/get and /set, the answer is a
JMAP response or a JMAP error naming the problem: never serverFail, never a
500 (DESIGN.md "Testing"), and never a push to anywhere."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_django.fixtures import Settings

from jmapcore.models.push_subscription import PushSubscription
from jmapcore.pushsub.subscriptions import PUSH_MAX_PER_POOL
from tests.jmapcore.push_subscription.conftest import PushClient

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PROPERTIES = ["id", "deviceClientId", "url", "keys", "verificationCode", "expires", "types", "types/0", "keys/auth"]

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)
urls = st.sampled_from(["https://[::1", "https://8.8.8.8:0/x", "https://10.0.0.1/", "http://x/", "https://a b/"])
objects = st.dictionaries(st.sampled_from(PROPERTIES) | st.text(max_size=6), json_values | urls, max_size=5)
set_arguments = st.fixed_dictionaries(
    {},
    optional={
        "create": st.dictionaries(st.sampled_from(["a", "b", "#c", ""]), objects | json_values, max_size=2)
        | json_values,
        "update": st.dictionaries(st.sampled_from(["#a", "pxyz", "a"]), objects | json_values, max_size=2)
        | json_values,
        "destroy": st.lists(st.sampled_from(["#a", "pxyz", "", "#"]) | json_values, max_size=2) | json_values,
        "accountId": json_values,
        "ifInState": json_values,
    },
)
get_arguments = st.fixed_dictionaries(
    {},
    optional={
        "ids": st.lists(st.sampled_from(["#a", "pxyz", ""]) | json_values, max_size=3) | json_values,
        "properties": st.lists(st.sampled_from(PROPERTIES) | st.text(max_size=5), max_size=3) | json_values,
    },
)
ALLOWED_ERRORS = {"invalidArguments", "forbidden", "requestTooLarge"}


def check(client: PushClient, name: str, arguments: dict[str, Any]) -> None:
    cache.clear()  # the rate limiter must not start refusing the fuzzer's logins
    response_name, result = client.call(name, **arguments)
    if response_name == "error":
        assert result["type"] in ALLOWED_ERRORS, result
        return
    assert response_name == name
    for failure in [*(result.get("notCreated") or {}).values(), *(result.get("notUpdated") or {}).values()]:
        assert failure["type"] in {"invalidProperties", "invalidPatch", "notFound", "willDestroy", "overQuota"}, failure


@FUZZ
@given(arguments=set_arguments)
def test_set_answers_every_input(alice_push: PushClient, settings: Settings, arguments: dict[str, Any]) -> None:
    settings.JMAP_PUSH_ALLOW_PRIVATE = False
    check(alice_push, "PushSubscription/set", arguments)
    # Nothing hostile got through the URL guard.
    assert not PushSubscription.objects.exclude(url__startswith="https://8.8.8.8").exists()


@FUZZ
@given(arguments=get_arguments)
def test_get_answers_every_input(alice_push: PushClient, arguments: dict[str, Any]) -> None:
    check(alice_push, "PushSubscription/get", arguments)


def test_a_login_has_a_quota_of_subscriptions(alice_push: PushClient) -> None:
    PushSubscription.objects.bulk_create(
        PushSubscription(
            pool=alice_push.persona.pool,
            jmap_id=f"pq{index}",
            device_client_id="d",
            url="https://8.8.8.8/",
            verification_code="c",
            expires=timezone.now() + timedelta(days=1),
        )
        for index in range(PUSH_MAX_PER_POOL)
    )
    assert alice_push.not_created(url="https://8.8.8.8/push")["type"] == "overQuota"
