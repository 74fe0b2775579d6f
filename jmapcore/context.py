"""What a method handler knows about the request it runs in."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.models import Account, Pool
from jmapcore.protocol.errors import MethodError


@dataclass
class CallContext:
    """One JMAP request, as seen by each method call in it.

    `accounts` holds only the caller's pool: every lookup goes through
    `account()`, so a foreign accountId answers accountNotFound.
    `created_ids` maps creation ids to real ids across the whole request
    (RFC 8620 §3.3, §5.3: "#id" references and createdIds).
    """

    pool: Pool
    accounts: dict[str, Account]
    using: frozenset[str]
    created_ids: dict[str, str] = field(default_factory=dict)
    call_id: str = ""
    method_name: str = ""
    # Extra responses a handler emits after its own (e.g. an implicit /set).
    extra_responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def account(self, account_id: object, *, write: bool = False) -> Account:
        """The caller's account `account_id`, or a MethodError (RFC 8620 §3.6.2)."""
        if not isinstance(account_id, str):
            raise MethodError("invalidArguments", "accountId must be a string")
        found = self.accounts.get(account_id)
        if found is None:
            raise MethodError("accountNotFound")
        if write and found.is_read_only:
            raise MethodError("accountReadOnly")
        return found
