"""The operator's dashboard for logins, accounts and bearer tokens.

Secrets never appear here: the backend password and OAuth tokens are left out
of every form and shown only as their storage state ("set (enc1)", ...); a new
password typed into the change form is sealed with the active scheme before it
is stored. Token hashes are never shown either.

A JMAP passthrough account shows its upstream accounts (read-only: they come
from the upstream Session, backends.jmap.session_store), and the upstream
Session is fetched again once a save that creates the account or changes how
the upstream is reached commits (accounts.services.account_upstream_refresh;
a failure lands in last_sync_error, the save stands).
"""
from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timesince import timesince

from accounts.models import Account, ApiToken, Pool, UpstreamAccount
from accounts.secrets import Scheme, stored_scheme
from accounts.sync_state import SyncState, account_sync_state, sync_progress_parse, sync_state_q

admin.site.site_header = "jmap-proxy"
admin.site.site_title = "jmap-proxy"
admin.site.index_title = "Dashboard"
# The operator's figures above the application list (jmapsite.dashboard_views
# serves the management root with them).
admin.site.index_template = "admin/jmap_dashboard.html"

SECRET_FIELDS = ("password", "oauth_access_token", "oauth_refresh_token")


_SCHEME_LABELS = {Scheme.PLAIN: "plaintext", Scheme.ENC1: "enc1", Scheme.VAULT: "vault"}


def secret_state(stored: str) -> str:
    """How a secret column is stored, without revealing anything of it."""
    if not stored:
        return "unset"
    return f"set ({_SCHEME_LABELS[stored_scheme(stored)]})"


def _revoke_pools_tokens(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, pools: list[Pool]) -> None:
    from accounts.tokens import token_revoke_all

    revoked = sum(token_revoke_all(pool=pool) for pool in pools)
    modeladmin.message_user(
        request, f"Revoked {revoked} bearer token(s) of {len(pools)} login(s): {', '.join(p.login for p in pools)}."
    )


# --- pools -----------------------------------------------------------------


class PoolAdminForm(forms.ModelForm):
    new_password = forms.CharField(
        label="New login password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current password. Stored as a hash only.",
    )

    class Meta:
        model = Pool
        exclude = ("password_hash",)


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    form = PoolAdminForm
    list_display = ("login", "is_active", "account_count", "token_count", "created_at")
    list_filter = ("is_active",)
    search_fields = ("login",)
    readonly_fields = ("password_state", "created_at")
    actions = ("revoke_tokens",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pool]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _account_count=Count("accounts", distinct=True),
                _token_count=Count("tokens", distinct=True),
            )
        )

    @admin.display(description="accounts", ordering="_account_count")
    def account_count(self, pool: Pool) -> int:
        return int(getattr(pool, "_account_count", 0))

    @admin.display(description="tokens", ordering="_token_count")
    def token_count(self, pool: Pool) -> int:
        return int(getattr(pool, "_token_count", 0))

    @admin.display(description="login password")
    def password_state(self, pool: Pool) -> str:
        return "set" if pool.password_hash else "unset"

    def save_model(self, request: HttpRequest, obj: Pool, form: forms.ModelForm, change: bool) -> None:
        new_password = form.cleaned_data.get("new_password")
        if new_password:
            obj.password_hash = make_password(new_password)
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[Pool]) -> None:
        _revoke_pools_tokens(self, request, list(queryset))


# --- accounts --------------------------------------------------------------


def _url_https(field: models.Field[Any, Any], **kwargs: Any) -> forms.Field | None:
    # Backend URLs typed without a scheme mean https (and Django 6's default).
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class AccountAdminForm(forms.ModelForm):
    new_password = forms.CharField(
        label="New backend password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the stored password. Encrypted with the active scheme before it is stored.",
    )
    clear_password = forms.BooleanField(label="Remove the stored backend password", required=False)

    class Meta:
        model = Account
        # upstream_session is the upstream's, refreshed from it: not for typing in.
        exclude = (*SECRET_FIELDS, "modseq", "sync_progress", "upstream_session")
        formfield_callback = _url_https

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        accountid = cleaned.get("accountid")
        if self.instance.pk is None and accountid and UpstreamAccount.objects.filter(proxy_id=accountid).exists():
            # One Session holds both kinds of id: they must not collide.
            self.add_error("accountid", "Already the account id of an upstream account of a JMAP passthrough account.")
        new_password = cleaned.get("new_password")
        self.sealed_password: str | None = None
        if new_password and cleaned.get("clear_password"):
            raise forms.ValidationError("Either set a new password or remove it, not both.")
        if not new_password and self._destination_moved(cleaned):
            # As in the management API: the stored password is never sent to a
            # new server (or in plain text) unless the same change carries it.
            self.add_error("new_password", "Required when a server address, port, type or TLS mode changes: "
                           "the stored password is never sent to a new destination.")
        if new_password:
            from accounts.secrets import seal

            try:
                self.sealed_password = seal(new_password)
            except Exception as exc:
                # e.g. OpenBao unreachable: say so instead of failing the request.
                raise forms.ValidationError(f"Could not encrypt the password: {type(exc).__name__}") from exc
        return cleaned

    def _destination_moved(self, cleaned: dict[str, Any]) -> bool:
        account = self.instance
        if account.pk is None or not account.password or cleaned.get("clear_password"):
            return False
        from accounts.services import account_destination_changes

        draft = copy.copy(account)
        changed = {name for name in self.changed_data if name in cleaned}
        for name in changed:
            setattr(draft, name, cleaned[name])
        return bool(account_destination_changes(account=account, draft=draft, changed=changed))


class HasErrorFilter(admin.SimpleListFilter):
    title = "last sync"
    parameter_name = "has_error"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("yes", "failed"), ("no", "no error")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> QuerySet[Account]:
        if self.value() == "yes":
            return queryset.exclude(last_sync_error="")
        if self.value() == "no":
            return queryset.filter(last_sync_error="")
        return queryset


class SyncStateFilter(admin.SimpleListFilter):
    """The dashboard's account states (accounts.sync_state), one link each."""

    title = "sync state"
    parameter_name = "sync_state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(state.value, state.label) for state in SyncState]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> QuerySet[Account]:
        value = self.value()
        if value is None or value not in SyncState._value2member_map_:
            return queryset
        return queryset.filter(sync_state_q(state=SyncState(value), now=timezone.now()))


class ActivityFilter(admin.SimpleListFilter):
    """What is happening to an account now, read from the shared registries
    the dashboard counts (jmapsite.dashboard): a sync running, a push listener,
    an IMAP IDLE connection."""

    title = "activity now"
    parameter_name = "activity"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("syncing", "sync running"), ("push", "push listener"), ("idle", "IMAP IDLE connection")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> QuerySet[Account]:
        from jmapsite.dashboard import idle_account_pks, push_watched_account_pks, syncing_account_pks

        value = self.value()
        if value == "syncing":
            return queryset.filter(pk__in=syncing_account_pks())
        if value == "push":
            return queryset.filter(pk__in=push_watched_account_pks(now=timezone.now()))
        if value == "idle":
            return queryset.filter(pk__in=idle_account_pks())
        return queryset


# The fields whose change makes a passthrough account fetch its upstream Session again.
_UPSTREAM_FORM_FIELDS = frozenset({"kind", "username", "session_url", "auth_type", "is_read_only", "new_password"})


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # the admin's own form factory
    list_display = (
        "accountid",
        "email",
        "kind",
        "backend",
        "sync_state",
        "last_sync_at",
        "sync_lag",
        "last_error",
        "pool",
    )
    list_filter = (SyncStateFilter, ActivityFilter, "kind", "pool", HasErrorFilter)
    list_select_related = ("pool",)
    search_fields = ("accountid", "email", "username", "imap_host")
    readonly_fields = (
        "password_state",
        "oauth_access_token_state",
        "oauth_refresh_token_state",
        "modseq",
        "created_at",
        "updated_at",
        "last_sync_at",
        "last_sync_error",
        "last_sync_error_at",
        "sync_progress",
        "upstream_account_list",
    )
    fieldsets = (
        (None, {"fields": ("accountid", "pool", "email", "name", "kind", "is_read_only")}),
        (
            "Credentials",
            {
                "fields": (
                    "username",
                    "password_state",
                    "new_password",
                    "clear_password",
                    "auth_type",
                    "oauth_access_token_state",
                    "oauth_refresh_token_state",
                )
            },
        ),
        ("IMAP / SMTP", {"fields": ("imap_host", "imap_port", "imap_ssl", "smtp_host", "smtp_port", "smtp_ssl")}),
        ("CalDAV / CardDAV", {"fields": ("caldav_url", "carddav_url")}),
        ("JMAP passthrough", {"fields": ("session_url", "upstream_account_list")}),
        (
            "Sync",
            {
                "fields": (
                    "modseq",
                    "last_sync_at",
                    "last_sync_error",
                    "last_sync_error_at",
                    "sync_progress",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    actions = ("sync_now", "revoke_tokens")

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> tuple[str, ...]:
        # A JMAP accountId is an identifier clients keep (RFC 8620 §1.6.2): fixed once created.
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "accountid") if obj is not None else fields

    @admin.display(description="backend host")
    def backend(self, account: Account) -> str:
        return account.backend_host

    @admin.display(description="sync state")
    def sync_state(self, account: Account) -> str:
        state = account_sync_state(account=account, now=timezone.now())
        percent = sync_progress_parse(account.sync_progress).percent
        if state is SyncState.INITIAL and percent is not None:
            return f"{state.label} ({percent}%)"
        return state.label

    @admin.display(description="sync lag", ordering="last_sync_at")
    def sync_lag(self, account: Account) -> str:
        if account.last_sync_at is None:
            return "never synced"
        return timesince(account.last_sync_at, timezone.now())

    @admin.display(description="last error")
    def last_error(self, account: Account) -> str:
        return Truncator(account.last_sync_error).chars(80)

    @admin.display(description="upstream accounts")
    def upstream_account_list(self, account: Account) -> str:
        """One line per upstream account: proxy id, upstream id, name, flags, capabilities."""
        if account.pk is None or account.kind != Account.Kind.JMAP:
            return "-"
        rows = list(account.upstream_accounts.all())
        if not rows:
            return "none yet (the upstream Session was not fetched; see the last sync error)"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><code>{}</code> = <code>{}</code> upstream, {} ({}{}): {}</li>",
                (
                    (row.proxy_id, row.upstream_id, row.name, "personal" if row.is_personal else "shared",
                     ", read-only" if row.is_read_only else "", ", ".join(sorted(row.capabilities)))
                    for row in rows
                ),
            ),
        )

    @admin.display(description="backend password")
    def password_state(self, account: Account) -> str:
        return secret_state(account.password)

    @admin.display(description="OAuth access token")
    def oauth_access_token_state(self, account: Account) -> str:
        return secret_state(account.oauth_access_token)

    @admin.display(description="OAuth refresh token")
    def oauth_refresh_token_state(self, account: Account) -> str:
        return secret_state(account.oauth_refresh_token)

    def save_model(self, request: HttpRequest, obj: Account, form: forms.ModelForm, change: bool) -> None:
        sealed = getattr(form, "sealed_password", None)
        if sealed:
            obj.password = sealed
        elif form.cleaned_data.get("clear_password"):
            obj.password = ""
        super().save_model(request, obj, form, change)
        if not change:
            from accounts.sync import account_sync_enqueue_on_commit

            # A new account syncs at once, after the admin's transaction commits (issue 9).
            account_sync_enqueue_on_commit(account=obj)
        if obj.kind != Account.Kind.JMAP:
            UpstreamAccount.objects.filter(account=obj).delete()
        elif not change or _UPSTREAM_FORM_FIELDS & set(form.changed_data) or not obj.upstream_session:
            from accounts.services import account_upstream_refresh

            # After commit: no network wait while the admin's transaction holds the database.
            transaction.on_commit(lambda: account_upstream_refresh(account=obj))

    @admin.action(description="Sync now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        from accounts.sync import account_sync_enqueue

        accounts = list(queryset)
        for account in accounts:
            account_sync_enqueue(account=account)
        self.message_user(request, f"Queued a sync of {len(accounts)} account(s).", messages.SUCCESS)

    @admin.action(description="Revoke tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        pools = list(Pool.objects.filter(accounts__in=queryset).distinct())
        _revoke_pools_tokens(self, request, pools)


# --- tokens ----------------------------------------------------------------


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("yes", "revoked"), ("no", "active")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
        if self.value() == "yes":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(revoked_at__isnull=True)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by the management API, which shows a token once; here
    they can be inspected (never their hash) and revoked."""

    list_display = ("prefix", "pool", "name", "created_at", "last_used_at", "last_used_ip", "revoked")
    list_filter = (RevokedFilter, "pool")
    list_select_related = ("pool",)
    search_fields = ("prefix", "name", "pool__login")
    fields = ("prefix", "pool", "name", "created_at", "expires_at", "last_used_at", "last_used_ip", "revoked_at")
    readonly_fields = ("prefix", "pool", "created_at", "last_used_at", "last_used_ip", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="revoked", boolean=True, ordering="revoked_at")
    def revoked(self, token: ApiToken) -> bool:
        return token.revoked_at is not None

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        from accounts.tokens import token_revoke

        live = list(queryset.filter(revoked_at__isnull=True))
        for token in live:
            token_revoke(token=token)
        self.message_user(request, f"Revoked {len(live)} token(s).", messages.SUCCESS)

