"""The TLS client context every backend connection uses.

Certificates are verified against the system trust store (RFC 6125 host names
included). An operator with a private CA, and the test suite with its throwaway
CA, add one PEM file through the JMAP_TLS_CA_FILE setting; it is trusted in
addition to the system store, never instead of it.
"""
from __future__ import annotations

import ssl

from django.conf import settings


def tls_ca_file() -> str:
    """The extra CA bundle to trust ("" when none is configured)."""
    return str(getattr(settings, "JMAP_TLS_CA_FILE", "") or "")


def tls_client_context() -> ssl.SSLContext:
    """A verifying client context: system CAs plus JMAP_TLS_CA_FILE, TLS 1.2+."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    extra = tls_ca_file()
    if extra:
        context.load_verify_locations(cafile=extra)
    return context
