"""Method handlers of urn:ietf:params:jmap:contacts (RFC 9610), one module per
data type (see jmapcore.mail for the shape); importing this package registers
the capability and every handler."""
from __future__ import annotations

from jmapcore.contacts import capability  # noqa: F401
from jmapcore.contacts.methods import address_book, contact_card  # noqa: F401
