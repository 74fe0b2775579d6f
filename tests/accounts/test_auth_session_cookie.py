"""Cookie login on the JMAP port: /auth/login (HTML form and JSON), the cookie
used on /session, /auth/logout (accounts.auth_views)."""
from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.test import Client, RequestFactory

from accounts.auth import SESSION_POOL_KEY, AuthenticationFailed, authenticate_request
from accounts.models import Pool
from tests.personas import Persona

COOKIE = settings.SESSION_COOKIE_NAME


def jmap(*, enforce_csrf_checks: bool = False) -> Client:
    return Client(enforce_csrf_checks=enforce_csrf_checks, SERVER_PORT=str(settings.JMAP_PORT))


def json_login(client: Client, username: str, password: str, origin: str | None = None) -> Any:
    body = json.dumps({"username": username, "password": password})
    headers = {"Origin": origin} if origin else {}
    return client.post("/auth/login", body, content_type="application/json", headers=headers)


def test_json_login_sets_a_session_cookie_usable_on_session(alice: Persona, clean_cache: None) -> None:
    client = jmap()
    response = json_login(client, alice.login, alice.password)
    assert response.status_code == 200
    assert response.json() == {"username": alice.login, "sessionUrl": settings.BASEURL + "/session"}
    morsel = response.cookies[COOKIE]
    assert morsel["httponly"] and morsel["samesite"] == "Lax"

    session = client.get("/session")
    assert session.status_code == 200
    assert alice.account_id in session.json()["accounts"]

    # The same cookie authenticates a request that never went through the middleware.
    request = RequestFactory().get("/session")
    request.COOKIES[COOKIE] = morsel.value
    assert authenticate_request(request) == alice.pool


def test_login_rotates_the_session_key(alice: Persona, clean_cache: None) -> None:
    client = jmap()
    session = client.session
    session["visited"] = True
    session.save()
    before = str(session.session_key)
    client.cookies[COOKIE] = before
    json_login(client, alice.login, alice.password)
    after = client.cookies[COOKIE].value
    assert after and after != before
    request = RequestFactory().get("/session")
    request.COOKIES[COOKIE] = before
    try:
        authenticate_request(request)
        raise AssertionError("the pre-login session key must not be authenticated")
    except AuthenticationFailed as exc:
        assert exc.status == 401


def test_json_login_failures(alice: Persona, clean_cache: None) -> None:
    client = jmap()
    wrong = json_login(client, alice.login, "nope")
    assert wrong.status_code == 401
    assert wrong["Content-Type"] == "application/problem+json"
    assert wrong.json()["detail"] == "invalid login or password"
    assert COOKIE not in wrong.cookies
    assert client.get("/session").status_code == 401

    missing, wrong_type = json.dumps({"username": alice.login}), json.dumps({"username": 1, "password": "x"})
    bodies = ("{not json", "[1, 2]", missing, wrong_type)
    for body in bodies:
        bad = client.post("/auth/login", body, content_type="application/json")
        assert bad.status_code == 400, body
        assert bad.json()["status"] == 400


def test_json_login_from_a_foreign_origin_is_refused(alice: Persona, clean_cache: None) -> None:
    response = json_login(jmap(), alice.login, alice.password, origin="https://evil.example")
    assert response.status_code == 403 and COOKIE not in response.cookies
    same = json_login(jmap(), alice.login, alice.password, origin=settings.BASEURL)
    assert same.status_code == 200


def test_html_form_is_csrf_protected(alice: Persona, clean_cache: None) -> None:
    client = jmap(enforce_csrf_checks=True)
    page = client.get("/auth/login?next=/session")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html and 'name="password"' in html and 'value="/session"' in html

    credentials = {"username": alice.login, "password": alice.password}
    forged = jmap(enforce_csrf_checks=True).post("/auth/login", credentials)
    assert forged.status_code == 403 and COOKIE not in forged.cookies

    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    done = client.post(
        "/auth/login",
        {"username": alice.login, "password": alice.password, "next": "/session", "csrfmiddlewaretoken": token},
    )
    assert done.status_code == 302 and done["Location"] == settings.BASEURL + "/session"
    assert client.get("/session").status_code == 200


def test_html_form_errors_and_unsafe_next(alice: Persona, clean_cache: None) -> None:
    client = jmap()
    wrong = client.post("/auth/login", {"username": alice.login, "password": "nope"})
    assert wrong.status_code == 401 and b"Wrong login or password." in wrong.content
    assert alice.password.encode() not in wrong.content
    away = client.post(
        "/auth/login", {"username": alice.login, "password": alice.password, "next": "https://evil.example/x"}
    )
    assert away.status_code == 302 and away["Location"] == settings.BASEURL + "/"


def test_logout_ends_the_session(alice: Persona, clean_cache: None) -> None:
    client = jmap()
    json_login(client, alice.login, alice.password)
    old = client.cookies[COOKIE].value
    assert client.get("/auth/logout").status_code == 405
    out = client.post("/auth/logout", "{}", content_type="application/json")
    assert out.status_code == 200 and out.json() == {"loggedOut": True}
    assert client.get("/session").status_code == 401
    request = RequestFactory().get("/session")
    request.COOKIES[COOKIE] = old
    try:
        authenticate_request(request)
        raise AssertionError("a logged-out session key must not authenticate")
    except AuthenticationFailed:
        pass


def test_form_logout_needs_csrf(alice: Persona, clean_cache: None) -> None:
    client = jmap(enforce_csrf_checks=True)
    client.get("/auth/login")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    client.post("/auth/login", {"username": alice.login, "password": alice.password, "csrfmiddlewaretoken": token})
    assert client.get("/session").status_code == 200
    assert client.post("/auth/logout").status_code == 403
    assert client.get("/session").status_code == 200
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    out = client.post("/auth/logout", {"csrfmiddlewaretoken": token})
    assert out.status_code == 302 and out["Location"] == settings.BASEURL + "/auth/login"
    assert client.get("/session").status_code == 401


def test_password_change_or_disabling_ends_sessions(alice: Persona, bob: Persona, clean_cache: None) -> None:
    from django.contrib.auth.hashers import make_password

    alice_client, bob_client = jmap(), jmap()
    json_login(alice_client, alice.login, alice.password)
    json_login(bob_client, bob.login, bob.password)
    Pool.objects.filter(pk=alice.pool.pk).update(password_hash=make_password("new password"))
    Pool.objects.filter(pk=bob.pool.pk).update(is_active=False)
    assert alice_client.get("/session").status_code == 401
    assert bob_client.get("/session").status_code == 401


def test_session_stores_the_pool_id_under_the_contract_key(alice: Persona, clean_cache: None) -> None:
    client = jmap()
    json_login(client, alice.login, alice.password)
    assert client.session[SESSION_POOL_KEY] == alice.pool.pk


def test_cookie_is_refused_on_cross_site_writes(alice: Persona, clean_cache: None) -> None:
    client = jmap()
    json_login(client, alice.login, alice.password)
    cookie = client.cookies[COOKIE].value

    def post(**headers: str) -> int:
        request = RequestFactory().post("/jmap/", "{}", content_type="application/json", headers=headers)
        request.COOKIES[COOKIE] = cookie
        try:
            authenticate_request(request)
        except AuthenticationFailed as exc:
            return exc.status
        return 200

    assert post() == 200  # a non-browser client sends neither header
    assert post(Origin=settings.BASEURL, **{"Sec-Fetch-Site": "same-origin"}) == 200
    assert post(Origin="https://evil.example") == 401
    assert post(**{"Sec-Fetch-Site": "cross-site"}) == 401
    assert post(**{"Sec-Fetch-Site": "same-site"}) == 401
    # Reads stay possible (SameSite=Lax already keeps the cookie off cross-site subrequests).
    request = RequestFactory().get("/session", headers={"Origin": "https://evil.example"})
    request.COOKIES[COOKIE] = cookie
    assert authenticate_request(request) == alice.pool
