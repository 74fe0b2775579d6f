"""JMAP_DEBUG logging of request and response bodies, without secrets.

With JMAP_DEBUG set, the API edges (HTTP now, WebSocket later) log every JMAP
request and response body on the "jmap.debug" logger. Headers are never logged
(so no Authorization), and any member whose name looks like a credential
(password, token, secret, ...) is replaced by a placeholder at any depth.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.conf import settings

logger = logging.getLogger("jmap.debug")

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"pass(word|wd|phrase)?|token|secret|authori[sz]ation|credential|api_?key|cookie", re.I)


def secrets_redact(value: Any) -> Any:
    """A copy of a JSON value with every credential-like member's value replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_NAME.search(str(key)) else secrets_redact(member)
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
