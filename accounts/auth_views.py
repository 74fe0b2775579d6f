"""Cookie login and logout on the JMAP port (``/auth/``).

``/auth/login`` answers two kinds of client:

- a browser: GET shows an HTML form, POST (form-encoded, CSRF-protected) checks
  it and redirects;
- a script or web app: POST ``application/json`` ``{"username", "password"}``
  answers JSON. It is exempt from the CSRF token (a cross-site page cannot send
  that content type without a CORS preflight, which we never grant) but refuses
  a foreign ``Origin``.

Both are rate-limited exactly like Basic (accounts.auth.pool_credentials_check)
and rotate the session key on success. The cookie is HttpOnly, SameSite=Lax and
Secure when BASEURL is https (jmapsite/settings.py). ``/auth/logout`` (POST)
forgets the session.
"""
from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.auth import (
    AuthenticationFailed,
    base_origin,
    pool_credentials_check,
    session_login,
    session_logout,
)
from jmapsite.client_address import client_address

LOGIN_TEMPLATE = "accounts/login.html"


def _problem(status: int, detail: str, retry_after: int | None = None) -> JsonResponse:
    """An RFC 7807 problem document."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    response = JsonResponse(body, status=status, content_type="application/problem+json")
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _is_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json"


def _foreign_origin(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    return bool(origin) and origin != base_origin()


def _safe_next(candidate: str) -> str:
    """Where to go after the form login: ``candidate`` if it stays on our site, else the landing page."""
    base = urlsplit(settings.BASEURL)
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={base.netloc}, require_https=base.scheme == "https"
    ):
        if candidate.startswith("/"):
            return settings.BASEURL + candidate
        return candidate
    return settings.BASEURL + "/"


@never_cache
@csrf_exempt  # the form branch is CSRF-checked by _form_login; the JSON branch checks Origin
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render_form(request, next_url=request.GET.get("next", ""))
    if _is_json(request):
        return _json_login(request)
    return _form_login(request)


def _render_form(
    request: HttpRequest, *, next_url: str, error: str = "", username: str = "", status: int = 200
) -> HttpResponse:
    context = {"error": error, "username": username, "next": next_url, "action": settings.BASEURL + "/auth/login"}
    return render(request, LOGIN_TEMPLATE, context, status=status)


def _json_login(request: HttpRequest) -> HttpResponse:
    if _foreign_origin(request):
        return _problem(403, "cross-origin login is not allowed")
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return _problem(400, "the body is not valid JSON")
    if not isinstance(payload, dict):
        return _problem(400, 'expected a JSON object {"username": ..., "password": ...}')
    username, password = payload.get("username"), payload.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        return _problem(400, '"username" and "password" must be strings')
    try:
        pool = pool_credentials_check(login=username, password=password, address=client_address(request))
    except AuthenticationFailed as exc:
        return _problem(exc.status, exc.detail, exc.retry_after)
    session_login(request=request, pool=pool)
    return JsonResponse({"username": pool.login, "sessionUrl": settings.BASEURL + "/session"})


@csrf_protect
def _form_login(request: HttpRequest) -> HttpResponse:
    username = request.POST.get("username", "")
    password = request.POST.get("password", "")
    next_url = request.POST.get("next", "")
    if not username:
        return _render_form(request, next_url=next_url, error="Enter your login and password.", status=400)
    try:
        pool = pool_credentials_check(login=username, password=password, address=client_address(request))
    except AuthenticationFailed as exc:
        message = "Wrong login or password." if exc.status == 401 else exc.detail
        if exc.status == 429:
            message = f"Too many failed attempts. Try again in {exc.retry_after} seconds."
        response = _render_form(request, next_url=next_url, error=message, username=username, status=exc.status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    session_login(request=request, pool=pool)
    return HttpResponseRedirect(_safe_next(next_url))


@never_cache
@csrf_exempt  # the form branch is CSRF-checked by _form_logout; the JSON branch checks Origin
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if _is_json(request):
        if _foreign_origin(request):
            return _problem(403, "cross-origin logout is not allowed")
        session_logout(request=request)
        return JsonResponse({"loggedOut": True})
    return _form_logout(request)


@csrf_protect
def _form_logout(request: HttpRequest) -> HttpResponse:
    session_logout(request=request)
    return HttpResponseRedirect(settings.BASEURL + "/auth/login")
