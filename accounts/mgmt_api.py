"""The management API (management port only, see jmapsite/urls_mgmt.py).

Thin HTTP edge over accounts.services and accounts.tokens; access control in
accounts.mgmt_auth. OpenAPI docs at /api/docs.

Errors are JSON ``{"error": code, "detail": sentence}``; 422 answers add
``"fields": {name: why}`` using the API's field names:

- 400 badJson: the body is not JSON; 415 unsupportedMediaType: a POST,
  PATCH, PUT or DELETE without ``Content-Type: application/json`` (even with
  no body: no blind cross-site form POST, accounts.mgmt_auth);
- 422 invalid: missing, unknown or ill-typed fields;
- 422 backendCheckFailed / 502 backendUnreachable: the backend refused the
  settings or could not be reached (the detail says exactly why);
- 404 notFound, 409 exists; 401/403 from access control;
- 500 serverFail never carries a traceback (it is logged instead).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Status
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser

from accounts import services
from accounts.mgmt_auth import ManagementAccessDenied, ManagementAuth, mgmt_access_check
from accounts.schemas import (
    AccountIn,
    AccountOut,
    AccountPatch,
    ErrorOut,
    SyncQueuedOut,
    TokenIn,
    TokenIssuedOut,
    TokenOut,
    api_field_name,
)
from accounts.secrets import CryptoError

logger = logging.getLogger("jmap.mgmt")


class UnsupportedMediaType(Exception):
    pass


class JsonBodyParser(Parser):
    """Bodies must be declared JSON (accounts.mgmt_auth refuses a changing
    request that is not, before this runs); an empty JSON body means {}."""

    def parse_body(self, request: HttpRequest) -> Any:
        if request.content_type != "application/json":
            raise UnsupportedMediaType(request.content_type or "none")
        if not request.body.strip():
            # `curl -X POST -H 'Content-Type: application/json'` with no data: no fields.
            return {}
        return json.loads(request.body)


def _docs_guard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The docs answer only those who may use the API."""

    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            mgmt_access_check(request)
        except ManagementAccessDenied as exc:
            return _error(exc.status, exc.code, exc.detail)
        return view(request, *args, **kwargs)

    return guarded


api = NinjaAPI(
    title="jmap-proxy management API",
    version="1",
    description="Accounts, logins and bearer tokens of jmap-proxy. Reachable only on the management port.",
    auth=ManagementAuth(),
    parser=JsonBodyParser(),
    urls_namespace="mgmt-api",
    docs_url="/docs",
    docs_decorator=_docs_guard,
)

ERRORS: dict[int, type[ErrorOut]] = {code: ErrorOut for code in (400, 401, 403, 404, 409, 415, 422, 502)}


def _error(status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    body: dict[str, Any] = {"error": code, "detail": detail, **extra}
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="jmap-proxy management"'
    return response


# -- error handlers ---------------------------------------------------------------
def _validation_message(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def _validation_field(loc: list[Any] | tuple[Any, ...]) -> str:
    # ("body", "payload", "imapSSL") -> "imapSSL"; ("path", "accountid") -> "accountid"
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "path", "query"):
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for error in exc.errors:
        field = _validation_field(error.get("loc", ()))
        message = _validation_message(error)
        if field == "body" and error.get("type") == "missing":
            message = "a JSON object is required"
        fields.setdefault(field, message)
    detail = "; ".join(f"{name}: {why}" for name, why in fields.items())
    return _error(422, "invalid", detail, fields=fields)


@api.exception_handler(HttpError)
def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, UnsupportedMediaType):
        return _error(415, "unsupportedMediaType", f"send Content-Type: application/json (got {cause})")
    if isinstance(cause, json.JSONDecodeError | UnicodeDecodeError):
        return _error(400, "badJson", f"the body is not valid JSON: {cause}")
    if exc.status_code == 401:
        return _error(401, "unauthorized", str(exc))
    return _error(exc.status_code, "error", str(exc))


@api.exception_handler(ManagementAccessDenied)
def _on_access_denied(request: HttpRequest, exc: ManagementAccessDenied) -> HttpResponse:
    return _error(exc.status, exc.code, exc.detail)


@api.exception_handler(services.ServiceError)
def _on_service_error(request: HttpRequest, exc: services.ServiceError) -> HttpResponse:
    if isinstance(exc, services.FieldsInvalid):
        fields = {api_field_name(name): why for name, why in exc.fields.items()}
        detail = "; ".join(f"{name}: {why}" for name, why in fields.items())
        return _error(422, "invalid", detail, fields=fields)
    if isinstance(exc, services.BackendCheckFailed):
        code = "backendCheckFailed" if exc.status == 422 else "backendUnreachable"
        return _error(exc.status, code, exc.message, backend=exc.error.kind)
    code = {404: "notFound", 409: "exists"}.get(exc.status, "error")
    return _error(exc.status, code, exc.message)


@api.exception_handler(CryptoError)
def _on_crypto_error(request: HttpRequest, exc: CryptoError) -> HttpResponse:
    # Messages of CryptoError name settings, never secrets (accounts.crypto).
    logger.error("management API: credential store failed: %s", exc)
    return _error(503, "secretStoreUnavailable", str(exc))


@api.exception_handler(Exception)
def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("management API: unexpected error on %s %s", request.method, request.path)
    return _error(500, "serverFail", "internal error; see the server log")


# -- accounts ----------------------------------------------------------------------
@api.post("/accounts", response={201: AccountOut, **ERRORS}, summary="Create an account (checks the backend)")
def account_create(request: HttpRequest, payload: AccountIn) -> Status[AccountOut]:
    account = services.account_create(
        accountid=payload.accountid,
        email=payload.email,
        password=payload.password,
        kind=payload.type,
        name=payload.name,
        username=payload.username,
        imap_host=payload.imapHost,
        imap_port=payload.imapPort,
        imap_ssl=payload.imapSSL,
        smtp_host=payload.smtpHost,
        smtp_port=payload.smtpPort,
        smtp_ssl=payload.smtpSSL,
        caldav_url=payload.caldavURL,
        carddav_url=payload.carddavURL,
        session_url=payload.sessionUrl,
        auth_type=payload.authType,
        oauth_access_token=payload.oauthAccessToken,
        oauth_refresh_token=payload.oauthRefreshToken,
        oauth_token_url=payload.oauthTokenUrl,
        oauth_client_id=payload.oauthClientId,
        is_read_only=payload.readOnly,
        login_password=payload.loginPassword,
        pool_login=payload.pool,
        check=payload.check,
    )
    return Status(201, AccountOut.of(account))


@api.get("/accounts", response={200: list[AccountOut], **ERRORS}, summary="List accounts")
def account_list(request: HttpRequest) -> list[AccountOut]:
    return [AccountOut.of(account) for account in services.account_list()]


@api.get("/accounts/{accountid}", response={200: AccountOut, **ERRORS}, summary="Show one account")
def account_get(request: HttpRequest, accountid: str) -> AccountOut:
    return AccountOut.of(services.account_get(accountid=accountid))


@api.patch("/accounts/{accountid}", response={200: AccountOut, **ERRORS}, summary="Change some fields")
def account_update(request: HttpRequest, accountid: str, payload: AccountPatch) -> AccountOut:
    account = services.account_get(accountid=accountid)
    if "accountid" in payload.model_fields_set and payload.accountid != accountid:
        raise services.FieldsInvalid({"accountid": "cannot be changed"})
    updated = services.account_update(account=account, changes=payload.model_changes(), check=payload.check)  # type: ignore[arg-type]
    return AccountOut.of(updated)


@api.delete("/accounts/{accountid}", response={204: None, **ERRORS}, summary="Delete an account")
def account_delete(request: HttpRequest, accountid: str) -> Status[None]:
    services.account_delete(account=services.account_get(accountid=accountid))
    return Status(204, None)


@api.post("/accounts/{accountid}/sync", response={202: SyncQueuedOut, **ERRORS}, summary="Queue a sync now")
def account_sync(request: HttpRequest, accountid: str) -> Status[SyncQueuedOut]:
    from accounts.sync import account_sync_enqueue

    account = services.account_get(accountid=accountid)
    before = account.last_sync_error_at
    account_sync_enqueue(account=account)
    # account_sync_enqueue never raises; a refused queue shows as a fresh error.
    queued = account.last_sync_error_at == before
    return Status(202, SyncQueuedOut(accountid=account.accountid, queued=queued, lastSyncError=account.last_sync_error))


# -- tokens ------------------------------------------------------------------------
@api.post(
    "/accounts/{accountid}/tokens",
    response={201: TokenIssuedOut, **ERRORS},
    summary="Issue a bearer token for the account's login (shown once)",
)
def token_issue(request: HttpRequest, accountid: str, payload: TokenIn | None = None) -> Status[TokenIssuedOut]:
    from accounts.tokens import token_issue as issue

    account = services.account_get(accountid=accountid)
    body = payload or TokenIn()
    token, plaintext = issue(pool=account.pool, name=body.name, expires_at=body.expiresAt)
    return Status(201, TokenIssuedOut(**TokenOut.of(token).model_dump(), token=plaintext))


@api.get("/accounts/{accountid}/tokens", response={200: list[TokenOut], **ERRORS}, summary="List tokens")
def token_list(request: HttpRequest, accountid: str) -> list[TokenOut]:
    account = services.account_get(accountid=accountid)
    return [TokenOut.of(token) for token in services.account_token_list(account=account)]


@api.delete("/tokens/{token_id}", response={204: None, **ERRORS}, summary="Revoke a token")
def token_revoke(request: HttpRequest, token_id: int) -> Status[None]:
    from accounts.tokens import token_revoke as revoke

    revoke(token=services.token_get(token_id=token_id))
    return Status(204, None)
