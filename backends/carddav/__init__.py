"""The CardDAV backend (RFC 6352 over WebDAV, RFC 4918): discovery, sync into the
contacts cache (jmapcore.models.contacts) and writes. See client.py for the
HTTP side and the differences between servers it absorbs."""
