"""Email/get, /changes, /query, /queryChanges, /set, /copy, /import, /parse
and SearchSnippet/get (RFC 8621 §4, §5).

The list-view properties come from the cache; /changes is the generic engine
over the cached rows; /get, /query and /queryChanges have mail-specific
arguments and live in jmapcore.mail.
"""
from __future__ import annotations

from jmapcore.datatypes.base import DataType, Property
from jmapcore.datatypes.standard import register_standard_methods
from jmapcore.mail import blob_references  # noqa: F401  (registers Blob/lookup finders)
from jmapcore.mail.capability import MAIL_CAPABILITY
from jmapcore.mail.email_copy_passthrough import email_copy_routed
from jmapcore.mail.email_get import CACHED, email_get
from jmapcore.mail.email_parse import email_parse
from jmapcore.mail.email_query import email_query, email_query_changes
from jmapcore.mail.email_set import email_import, email_set
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


# The handlers live in jmapcore.mail; they are registered here by method name.
for _name, _handler in (
    ("Email/get", email_get),
    ("Email/query", email_query),
    ("Email/queryChanges", email_query_changes),
    ("Email/set", email_set),
    ("Email/import", email_import),
    ("Email/copy", email_copy_routed),  # local copies, or across to/from a passthrough account
    ("Email/parse", email_parse),
    ("SearchSnippet/get", search_snippet_get),
):
    method(_name, capability=MAIL_CAPABILITY)(_handler)
