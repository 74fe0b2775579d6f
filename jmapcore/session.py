"""The Session resource (RFC 8620 §2), its well-known discovery URL (§2.2)
and the landing page of the JMAP port.

Thin HTTP edges: the Session object itself is built by jmapcore.session_object.
Every URL is absolute and built from BASEURL, never from the Host header.
"""
from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from accounts.auth import AuthenticationFailed, authenticate_request, pool_accounts
from jmapcore.api import authentication_failed_response
from jmapcore.session_object import session_object_build
from jmapsite.metrics import HTTP_REQUESTS

_READ_METHODS = ("GET", "HEAD")


def session_url() -> str:
    return settings.BASEURL.rstrip("/") + "/session"


def well_known(request: HttpRequest) -> HttpResponse:
    """GET /.well-known/jmap: redirect to the Session resource (RFC 8620 §2.2).

    No authentication is needed to be told where the session is; the client
    authenticates when it follows the redirect.
    """
    HTTP_REQUESTS.labels(endpoint="well-known").inc()
    if request.method not in _READ_METHODS:
        return HttpResponseNotAllowed(list(_READ_METHODS))
    return HttpResponseRedirect(session_url())


def session_view(request: HttpRequest) -> HttpResponse:
    """GET /session: the caller's Session object (RFC 8620 §2)."""
    HTTP_REQUESTS.labels(endpoint="session").inc()
    if request.method not in _READ_METHODS:
        return HttpResponseNotAllowed(list(_READ_METHODS))
    try:
        pool = authenticate_request(request)
    except AuthenticationFailed as exc:
        return authentication_failed_response(exc)
    body = session_object_build(pool=pool, accounts=pool_accounts(pool))
    response = HttpResponse(json.dumps(body).encode("utf-8"), content_type="application/json")
    # Per-user content: shared caches must not keep it, clients revalidate by state.
    response["Cache-Control"] = "private, no-cache"
    return response


def landing_view(request: HttpRequest) -> HttpResponse:
    """GET / on the JMAP port: says what this is and where the session is."""
    HTTP_REQUESTS.labels(endpoint="landing").inc()
    if request.method not in _READ_METHODS:
        return HttpResponseNotAllowed(list(_READ_METHODS))
    base = settings.BASEURL.rstrip("/")
    try:
        login_url: str | None = base + reverse("jmapauth:login")
    except NoReverseMatch:
        login_url = None
    context = {"session_url": session_url(), "well_known_url": base + "/.well-known/jmap", "login_url": login_url}
    return render(request, "jmapcore/landing.html", context)
