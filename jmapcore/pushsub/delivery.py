"""Delivering to a PushSubscription's URL (RFC 8620 §7.2, RFC 8030 §5, RFC 8291).

`pushsub_deliver` makes one attempt to POST one message and says what should
happen next; the Celery task in jmapcore.pushsub.tasks retries with
exponential backoff when told to. The rules:

- Nothing but the PushVerification (§7.2.2) goes to an unverified
  subscription, nothing at all to a disabled or expired one ("MUST NOT make
  further requests to this resource after this time", §7.2).
- The URL is checked again before each attempt and the request goes to an
  address that was just checked (jmapcore.pushsub.url_guard); redirects are
  never followed.
- The body is JSON (Content-Type application/json) with a TTL header
  (RFC 8030 §5.2), encrypted with RFC 8291 aes128gcm when the subscription has
  keys.
- 2xx: delivered; the consecutive-failure count goes back to 0.
  404/410 (RFC 8030 §7.3: the push subscription is gone): disabled at once.
  429, 5xx, timeouts and refused connections: retried with backoff (at least
  Retry-After; a 429 MUST make the server push less often, §7.2).
  Any other answer cannot succeed by repeating it: counted, not retried.
  After PUSH_MAX_FAILURES failures in a row the subscription is disabled
  (logged; the client no longer sees it and creates a new one).
"""
from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from jmapcore.models.push_subscription import PushSubscription
from jmapcore.pushsub.url_guard import PushTarget, PushUrlRefused, PushUrlUnresolved, push_url_resolve
from jmapcore.pushsub.webpush_encrypt import b64url_decode, webpush_encrypt

logger = logging.getLogger("jmap.pushsub")

PUSH_MAX_FAILURES = 5
PUSH_TIMEOUT_SECONDS = 10.0
# Backoff before retry n (0-based): PUSH_RETRY_BASE * 2**n seconds, at most PUSH_RETRY_MAX.
PUSH_RETRY_BASE = 30
PUSH_RETRY_MAX = 3600
# RFC 8030 §5.2: how long the push service may keep an undelivered message.
# A StateChange is only worth something while it is fresh; the verification
# code is worth keeping until the client can come back for it.
TTL_STATE_CHANGE = 3600
TTL_VERIFICATION = 86400
USER_AGENT = "jmap-proxy push"


class PushKind(enum.StrEnum):
    VERIFICATION = "verification"
    STATE_CHANGE = "state"


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DROPPED = "dropped"  # this message is given up; the subscription stays
    DISABLED = "disabled"
    SKIPPED = "skipped"  # nothing may be sent (unverified, expired, gone)


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    retry_in: int | None = None
    detail: str = ""


def push_settings_allow_private() -> bool:
    return bool(getattr(settings, "JMAP_PUSH_ALLOW_PRIVATE", False))


def push_settings_allow_http() -> bool:
    return bool(getattr(settings, "JMAP_PUSH_ALLOW_HTTP", False))


def pushsub_deliverable(sub: PushSubscription, *, kind: PushKind, now: datetime) -> bool:
    """Whether anything of `kind` may be sent to `sub` now (RFC 8620 §7.2, §7.2.2)."""
    if sub.disabled_at is not None or sub.expires <= now:
        return False
    return sub.verified if kind is PushKind.STATE_CHANGE else not sub.verified


def push_body(sub: PushSubscription, *, kind: PushKind, changed: dict[str, dict[str, str]] | None) -> bytes:
    """The JSON object for this push: a PushVerification (§7.2.2) or a StateChange (§7.1)."""
    obj: dict[str, Any]
    if kind is PushKind.VERIFICATION:
        obj = {
            "@type": "PushVerification",
            "pushSubscriptionId": sub.jmap_id,
            "verificationCode": sub.verification_code,
        }
    else:
        obj = {"@type": "StateChange", "changed": changed or {}}
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def push_request_content(sub: PushSubscription, *, kind: PushKind, body: bytes) -> tuple[bytes, dict[str, str]]:
    """The bytes to POST and their headers, encrypted per RFC 8291 when `sub` has keys."""
    headers = {
        "Content-Type": "application/json",
        "TTL": str(TTL_VERIFICATION if kind is PushKind.VERIFICATION else TTL_STATE_CHANGE),
        "Urgency": "normal",
        "User-Agent": USER_AGENT,
    }
    if sub.keys:
        body = webpush_encrypt(
            plaintext=body, p256dh=b64url_decode(sub.keys["p256dh"]), auth_secret=b64url_decode(sub.keys["auth"])
        )
        # RFC 8291 §4 / RFC 8188 §2: the JSON is carried in the aes128gcm content coding.
        headers["Content-Encoding"] = "aes128gcm"
    return body, headers


def push_post(*, target: PushTarget, content: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST to the checked addresses of `target` in turn until one connects.

    The connection goes to an address that was just checked, not to whatever
    the name resolves to a moment later; Host and, for https, SNI and the
    certificate check still use the URL's host name. Redirects are never
    followed, no proxy from the environment is used (it would connect by
    name), and the response body is not read (a push service has nothing to
    say in it, and a hostile one could send a lot).
    """
    parts = httpx.URL(target.url)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    with httpx.Client(timeout=PUSH_TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        for index, address in enumerate(target.addresses):
            pinned = parts.copy_with(host=str(address), port=target.port)
            request = client.build_request(
                "POST", pinned, content=content, headers={**headers, "Host": target.host_header}, extensions=extensions
            )
            try:
                response = client.send(request, stream=True)
            except httpx.ConnectError:
                if index == len(target.addresses) - 1:
                    raise
                continue
            response.close()
            return response
    raise httpx.ConnectError("no address to connect to")


def _retry_after(response: httpx.Response) -> int:
    value = response.headers.get("Retry-After", "").strip()
    return int(value) if value.isdigit() else 0


def _backoff(attempt: int, *, at_least: int = 0) -> int:
    return min(PUSH_RETRY_MAX, max(at_least, PUSH_RETRY_BASE * 2 ** max(0, attempt)))


def pushsub_disable(*, subscription_id: int, reason: str) -> None:
    """Stop all deliveries to a subscription (kept, invisible to clients, until the purge)."""
    disabled = PushSubscription.objects.filter(pk=subscription_id, disabled_at__isnull=True).update(
        disabled_at=timezone.now(), last_error=reason[:1000]
    )
    if disabled:
        logger.warning("push subscription %s disabled: %s", subscription_id, reason)


def _failure(sub: PushSubscription, *, reason: str, retry_in: int | None, permanent: bool = False) -> DeliveryResult:
    """Count one failed attempt; disable on a permanent failure or the Nth in a row."""
    PushSubscription.objects.filter(pk=sub.pk).update(failures=F("failures") + 1, last_error=reason[:1000])
    failures = PushSubscription.objects.filter(pk=sub.pk).values_list("failures", flat=True).first() or 0
    if permanent or failures >= PUSH_MAX_FAILURES:
        why = reason if permanent else f"{failures} failed deliveries in a row; last: {reason}"
        pushsub_disable(subscription_id=sub.pk, reason=why)
        return DeliveryResult(Outcome.DISABLED, detail=why)
    logger.info("push subscription %s: delivery failed (%s)", sub.pk, reason)
    if retry_in is None:
        return DeliveryResult(Outcome.DROPPED, detail=reason)
    return DeliveryResult(Outcome.RETRY, retry_in=retry_in, detail=reason)


def pushsub_deliver(
    *,
    subscription_id: int,
    kind: PushKind,
    changed: dict[str, dict[str, str]] | None = None,
    attempt: int = 0,
) -> DeliveryResult:
    """One attempt to deliver one message to one subscription (see the module docstring).

    `changed` is the StateChange's map (account id -> {type: state}), already
    filtered by the subscription's `types`; `attempt` counts earlier tries of
    this message and sets the backoff.
    """
    sub = PushSubscription.objects.filter(pk=subscription_id).first()
    now = timezone.now()
    if sub is None or not pushsub_deliverable(sub, kind=kind, now=now):
        return DeliveryResult(Outcome.SKIPPED)
    try:
        target = push_url_resolve(
            url=sub.url, allow_private=push_settings_allow_private(), allow_http=push_settings_allow_http()
        )
    except PushUrlUnresolved as error:
        return _failure(sub, reason=f"url {error}", retry_in=_backoff(attempt))
    except PushUrlRefused as error:
        # It passed at create time: the name now points inside (DNS rebinding).
        return _failure(sub, reason=f"url {error}", retry_in=None, permanent=True)
    content, headers = push_request_content(sub, kind=kind, body=push_body(sub, kind=kind, changed=changed))
    try:
        response = push_post(target=target, content=content, headers=headers)
    except httpx.HTTPError as error:
        return _failure(sub, reason=f"{type(error).__name__}: {error}", retry_in=_backoff(attempt))
    status = response.status_code
    if 200 <= status < 300:
        PushSubscription.objects.filter(pk=sub.pk).update(failures=0, last_error="", last_push_at=timezone.now())
        return DeliveryResult(Outcome.DELIVERED)
    reason = f"HTTP {status}"
    if status in (404, 410):
        return _failure(sub, reason=f"{reason}: the push service no longer knows this subscription", retry_in=None,
                        permanent=True)
    if status == 429 or status >= 500:
        return _failure(sub, reason=reason, retry_in=_backoff(attempt, at_least=_retry_after(response)))
    return _failure(sub, reason=reason, retry_in=None)
