"""Core/echo and the urn:ietf:params:jmap:core capability (RFC 8620 §2, §4)."""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from jmapcore.context import CallContext
from jmapcore.limits import COLLATION_ALGORITHMS, CORE_CAPABILITY, LIMITS
from jmapcore.registry import capability, method


def _core_session_value() -> dict[str, Any]:
    return {**LIMITS.to_json(), "collationAlgorithms": COLLATION_ALGORITHMS}


def _core_account_value(account: Account) -> dict[str, Any] | None:
    return {}


capability(CORE_CAPABILITY, session_value=_core_session_value, account_value=_core_account_value)


@method("Core/echo", capability=CORE_CAPABILITY)
def core_echo(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """RFC 8620 §4: answer with the same arguments."""
    return args
