"""Email/get, /changes, /query, /queryChanges, /set, /copy, /import, /parse
and SearchSnippet/get (RFC 8621 §4, §5).

The list-view properties come from the cache; /changes is the generic engine
over the cached rows; /get, /query and /queryChanges have mail-specific
arguments and live in jmapcore.mail.
"""
from __future__ import annotations

from typing import Any

from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, Property
from jmapcore.datatypes.standard import register_standard_methods
from jmapcore.mail import blob_references  # noqa: F401  (registers Blob/lookup finders)
from jmapcore.mail.capability import MAIL_CAPABILITY
from jmapcore.mail.email_get import CACHED, email_get
from jmapcore.mail.email_parse import email_parse
from jmapcore.mail.email_query import email_query, email_query_changes
from jmapcore.mail.email_set import email_copy, email_import, email_set
from jmapcore.mail.search_snippet import search_snippet_get
from jmapcore.models.mail import Email
from jmapcore.registry import method


class EmailType(DataType):
    name = "Email"
    capability = MAIL_CAPABILITY
    model = Email
    id_prefix = "e"
    properties = tuple(Property(name, server_set=True) for name in sorted(CACHED))
    changed_types = ("Mailbox", "Thread")


EMAIL_TYPE = EmailType()
register_standard_methods(EMAIL_TYPE, methods=("changes",))


@method("Email/get", capability=MAIL_CAPABILITY)
def email_get_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return email_get(ctx, args)


@method("Email/query", capability=MAIL_CAPABILITY)
def email_query_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return email_query(ctx, args)


@method("Email/queryChanges", capability=MAIL_CAPABILITY)
def email_query_changes_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return email_query_changes(ctx, args)


@method("Email/set", capability=MAIL_CAPABILITY)
def email_set_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return email_set(ctx, args)


@method("Email/import", capability=MAIL_CAPABILITY)
def email_import_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return email_import(ctx, args)


@method("Email/copy", capability=MAIL_CAPABILITY)
def email_copy_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return email_copy(ctx, args)


@method("Email/parse", capability=MAIL_CAPABILITY)
def email_parse_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return email_parse(ctx, args)


@method("SearchSnippet/get", capability=MAIL_CAPABILITY)
def search_snippet_get_method(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return search_snippet_get(ctx, args)
