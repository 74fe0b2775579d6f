"""ParticipantIdentity/get, /changes and /set (draft-ietf-jmap-calendars-33 §3.1-§3.3).

The identities are the account's own addresses
(jmapcore.calendars.calendar_participant_identity), so they are read-only
here: /set refuses every create, update and destroy with forbidden (the
draft lets a server refuse them; the addresses are managed through the
account and its mail Identities). The state is a hash of the identities,
which cannot tell which identities an older state held, so /changes from any
other state is cannotCalculateChanges (RFC 8620 §5.2) and the client
refetches the short list: reporting every identity as updated would leave a
removed one unreported.
"""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from jmapcore.calendars.calendar_participant_identity import participant_identities_of, participant_identity_state
from jmapcore.calendars.capability import CALENDARS_CAPABILITY, calendars_account_value
from jmapcore.context import CallContext
from jmapcore.datatypes.standard import set_arguments_read
from jmapcore.limits import LIMITS
from jmapcore.protocol.arguments import read_ids, read_positive_int, read_string, read_strings
from jmapcore.protocol.errors import MethodError, SetError
from jmapcore.registry import method

PROPERTIES = ("id", "name", "calendarAddress", "isDefault")


def _account(ctx: CallContext, args: dict[str, Any], *, write: bool = False) -> Account:
    account = ctx.account(args.get("accountId"), write=write)
    if calendars_account_value(account) is None:
        raise MethodError("accountNotSupportedByMethod", "this account has no CalDAV server")
    return account


@method("ParticipantIdentity/get", capability=CALENDARS_CAPABILITY)
def participant_identity_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §3.1: standard /get."""
    account = _account(ctx, args)
    ids = read_ids(args, "ids")
    if ids is not None and len(ids) > LIMITS.maxObjectsInGet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInGet} ids per /get")
    wanted = read_strings(args, "properties")
    if wanted is not None:
        unknown = sorted({name for name in wanted if name not in PROPERTIES})
        if unknown:
            raise MethodError("invalidArguments", "properties: unknown " + ", ".join(unknown))
    properties = list(dict.fromkeys(["id", *(wanted if wanted is not None else PROPERTIES)]))
    identities = participant_identities_of(account)
    by_id = {identity["id"]: identity for identity in identities}
    chosen = identities if ids is None else [by_id[item] for item in dict.fromkeys(ids) if item in by_id]
    return {
        "accountId": account.accountid,
        "state": participant_identity_state(account),
        "list": [{name: identity[name] for name in properties} for identity in chosen],
        "notFound": [item for item in dict.fromkeys(ids or []) if item not in by_id],
    }


@method("ParticipantIdentity/changes", capability=CALENDARS_CAPABILITY)
def participant_identity_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §3.2: standard /changes (see the module docstring)."""
    account = _account(ctx, args)
    since = read_string(args, "sinceState", required=True)
    read_positive_int(args, "maxChanges")
    state = participant_identity_state(account)
    if since != state:
        raise MethodError("cannotCalculateChanges", "the identities changed; fetch them again with /get")
    return {
        "accountId": account.accountid,
        "oldState": since,
        "newState": state,
        "hasMoreChanges": False,
        "created": [],
        "updated": [],
        "destroyed": [],
    }


@method("ParticipantIdentity/set", capability=CALENDARS_CAPABILITY)
def participant_identity_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §3.3: every create, update and destroy is refused with forbidden."""
    account = _account(ctx, args, write=True)
    create, update, destroy = set_arguments_read(args)
    state = participant_identity_state(account)
    if_in_state = read_string(args, "ifInState")
    if if_in_state is not None and if_in_state != state:
        raise MethodError("stateMismatch")
    known = {identity["id"] for identity in participant_identities_of(account)}
    refused = SetError(
        "forbidden", "participant identities are this account's addresses; they change with the account's Identities"
    )

    def answer(key: Any) -> dict[str, Any]:
        return (refused if key in known else SetError("notFound")).to_json()

    return {
        "accountId": account.accountid,
        "oldState": state,
        "newState": state,
        "created": None,
        "updated": None,
        "destroyed": None,
        "notCreated": {key: refused.to_json() for key in create} or None,
        "notUpdated": {key: answer(key) for key in update} or None,
        "notDestroyed": {str(key): answer(key) for key in destroy} or None,
    }
