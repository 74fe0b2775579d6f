"""JMAP_DEBUG logging of request and response bodies, without secrets.

With JMAP_DEBUG set, the API edges (HTTP and WebSocket) log every JMAP request
and response body on the "jmap.debug" logger. Headers are never logged (so no
Authorization), and at any depth these members' values are replaced by a
placeholder:

- any name that looks like a credential (password, token, secret, ...);
- ``auth``: the PushSubscription's RFC 8291 authentication secret
  (``keys.auth``, RFC 8620 §7.2); ``keys.p256dh`` is a public key and is kept;
- ``verificationCode`` (RFC 8620 §7.2.2): whoever holds it can activate a
  subscription;
- the path and query of a PushSubscription ``url``: a Web Push endpoint is a
  capability (anyone who knows it can push to the device), so only its origin
  is logged.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.conf import settings

logger = logging.getLogger("jmap.debug")

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|token|secret|authori[sz]ation|credential|api_?key|private_?key|cookie|bearer", re.I
)
# Whole member names (compared case-insensitively) that hold secrets without saying so.
_SECRET_EXACT = frozenset({"auth", "verificationcode", "otp", "sasl"})


def _is_secret_name(key: object) -> bool:
    name = str(key)
    return name.lower() in _SECRET_EXACT or _SECRET_NAME.search(name) is not None


def _origin_only(url: object) -> object:
    """``https://push.example/abc?x`` -> ``https://push.example/[redacted]``."""
    if not isinstance(url, str):
        return url
    scheme, separator, rest = url.partition("://")
    if not separator:
        return REDACTED
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}/{REDACTED}"


def secrets_redact(value: Any) -> Any:
    """A copy of a JSON value with every secret-like member's value replaced (module doc)."""
    if isinstance(value, dict):
        push_subscription = "deviceClientId" in value
        return {
            key: REDACTED
            if _is_secret_name(key)
            else _origin_only(member)
            if push_subscription and key == "url"
            else secrets_redact(member)
            for key, member in value.items()
        }
    if isinstance(value, list):
        return [secrets_redact(member) for member in value]
    return value


def debug_enabled() -> bool:
    return bool(getattr(settings, "JMAP_DEBUG", False))


def debug_log_body(*, direction: str, login: str, endpoint: str, body: Any) -> None:
    """Log one JSON body ("request" or "response") when JMAP_DEBUG is on.

    `body` is a decoded JSON value, or None when the body was not JSON (then
    only that fact is logged: raw text may hold anything).
    """
    if not debug_enabled():
        return
    if body is None:
        text = "(not JSON; not logged)"
    else:
        try:
            text = json.dumps(secrets_redact(body), ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            text = "(not serialisable; not logged)"
    logger.debug("%s %s %s: %s", endpoint, direction, login or "-", text)
