"""Pure MIME <-> JMAP Email conversion (RFC 8621 §4). No Django, no backends."""
from __future__ import annotations

from jmapcore.mime.build import BlobNotFound, EmailInvalid, email_build, message_without_bcc
from jmapcore.mime.headers import HEADER_FORMS, header_form_allowed, header_form_parse, header_property_parse
from jmapcore.mime.parse import ParsedMessage, message_parse

__all__ = [
    "HEADER_FORMS",
    "BlobNotFound",
    "EmailInvalid",
    "ParsedMessage",
    "email_build",
    "header_form_allowed",
    "header_form_parse",
    "header_property_parse",
    "message_parse",
    "message_without_bcc",
]
