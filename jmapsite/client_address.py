"""The address of the client that sent a request.

The proxy is meant to sit behind a TLS reverse proxy on the same host. Only when
the direct peer is a loopback address do we believe the last X-Forwarded-For
hop it added; from anywhere else the header is ignored, so a remote client can't
pretend to be someone else (or to be local).
"""
from __future__ import annotations

import ipaddress

from django.http import HttpRequest


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def peer_address(request: HttpRequest) -> str:
    """The direct TCP peer; what access control must use."""
    return str(request.META.get("REMOTE_ADDR") or "")


def client_address(request: HttpRequest) -> str:
    """The client as the local reverse proxy saw it, for rate limits and records."""
    peer = peer_address(request)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    if forwarded and _is_loopback(peer):
        candidate = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return peer
    return peer
