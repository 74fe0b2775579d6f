"""Workarounds for real clients' habits, in the spirit of Dovecot's
imap_client_workarounds: requests that break a letter of RFC 8620/8621 in a
way that harms nobody are accepted, unless the operator sets JMAP_STRICT=1.

Each workaround asks `client_workarounds()` at the point where it applies:

- an Email/set patch `"keywords/$seen": false` removes the keyword (RFC 8620
  §5.3 only allows `true` as the value of a set member; jmapcore.mail.email_update);
- methods of urn:ietf:params:jmap:submission, :vacationresponse and :quota run
  when `using` names urn:ietf:params:jmap:mail and the account has that
  capability (RFC 8620 §3.6.2 would answer unknownMethod; jmapcore.engine);
- Comparator keys the server does not know are ignored (RFC 8620 §5.5 would
  answer invalidArguments; jmapcore.protocol.query.sort_parse).

Everything else stays strict in both modes.
"""
from __future__ import annotations

from django.conf import settings

# Capabilities whose methods a client may call with only mail in `using`.
MAIL_IMPLIED_CAPABILITIES = frozenset(
    {
        "urn:ietf:params:jmap:submission",
        "urn:ietf:params:jmap:vacationresponse",
        "urn:ietf:params:jmap:quota",
    }
)
MAIL_CAPABILITY = "urn:ietf:params:jmap:mail"
# The Comparator keys RFC 8620 §5.5 and RFC 8621 §4.4.2 define.
KNOWN_COMPARATOR_KEYS = frozenset({"property", "isAscending", "collation", "keyword"})


def client_workarounds() -> bool:
    """True unless JMAP_STRICT is set (read on every call, so tests can switch it)."""
    return not getattr(settings, "JMAP_STRICT", False)
