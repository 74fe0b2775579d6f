"""Settings for jmap-proxy, driven entirely by the environment (see jmapsite/env.py).

Embedded default: SQLite in $JMAP_DATADIR, a filesystem Celery broker, no other
server. Scale-out: DATABASE_URL (PostgreSQL) and REDIS_URL (Celery broker, cache,
channel layer).
"""
from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

import dj_database_url

from jmapsite.env import SOURCE_DIR, read_env
from jmapsite.env import _flag as _env_flag
from jmapsite.env import _int as _env_int
from jmapsite.env import _str as _env_str
from jmapsite.mgmt_token import mgmt_token_resolve

ENV = read_env()
BASE_DIR = SOURCE_DIR
DATADIR: Path = ENV.datadir
DATADIR.mkdir(parents=True, exist_ok=True)
BLOB_DIR = DATADIR / "blobs"

BASEURL = ENV.base_url
JMAP_PORT = ENV.jmap_port
JMAP_MGMT_PORT = ENV.mgmt_port
JMAP_MGMT_HOST = ENV.mgmt_host
# JMAP_MGMT_TOKEN, else the token generated into $JMAP_DATADIR/mgmt-token at the
# first start with the management port beyond loopback (jmapsite.mgmt_token).
JMAP_MGMT_TOKEN = mgmt_token_resolve(configured=ENV.mgmt_token, datadir=DATADIR, mgmt_host=ENV.mgmt_host)
# Networks that may use the management API without JMAP_MGMT_TOKEN.
JMAP_MGMT_ALLOW = ENV.mgmt_allow
# Host names the management port answers to besides its bind address and localhost.
JMAP_MGMT_HOSTS = ENV.mgmt_hosts
# Reverse proxies whose X-Forwarded-For is believed (jmapsite.client_address).
JMAP_TRUSTED_PROXIES = ENV.trusted_proxies
# Extra CA bundle trusted for backend TLS (self-signed servers, tests).
JMAP_TLS_CA_FILE = ENV.tls_ca_file
JMAP_IDLE_TIMEOUT = ENV.idle_timeout
JMAP_SYNC_INTERVAL = ENV.sync_interval
JMAP_DEBUG = ENV.debug
JMAP_HOME = ENV.home
# PushSubscription URLs (RFC 8620 §7.2) to private/loopback addresses, and
# over plain http, are refused unless the operator allows them.
JMAP_PUSH_ALLOW_PRIVATE = ENV.push_allow_private
JMAP_PUSH_ALLOW_HTTP = ENV.push_allow_http
# Bound on one JMAP Response in octets (jmapcore.engine): result references
# can make a small request ask for an ever larger response.
JMAP_MAX_RESPONSE_SIZE = _env_int("JMAP_MAX_RESPONSE_SIZE", 32 * 1024 * 1024)
# JMAP_STRICT=1 refuses the harmless habits of real clients that are accepted
# by default (README "Real clients' habits"; jmapcore.strictness).
JMAP_STRICT = _env_flag("JMAP_STRICT")
# CardDAV has no push: while a JMAP client listens (EventSource/WebSocket), the
# account's address books are polled every JMAP_DAV_POLL_LISTENING seconds
# (backends.carddav.poll) instead of every JMAP_SYNC_INTERVAL; 0 turns it off.
JMAP_DAV_POLL_LISTENING = _env_int("JMAP_DAV_POLL_LISTENING", 15)
# An IMAP account without carddavURL looks for https://<imap host>/.well-known/carddav (RFC 6764).
# On unless set to 0, false, no or off.
JMAP_DAV_DISCOVER = _env_str("JMAP_DAV_DISCOVER", "1").strip().lower() not in ("0", "false", "no", "off")
# An IMAP account whose server announces its JMAP Session URL (RFC 9698 JMAPACCESS) is
# offered as a passthrough account; with JMAP_SWITCH_TO_JMAPACCESS=1 it is switched to one
# after its upstream Session answers (backends.imap.jmap_access).
JMAP_SWITCH_TO_JMAPACCESS = _env_flag("JMAP_SWITCH_TO_JMAPACCESS")
# A passthrough upstream's Session (or a redirect) may name another origin than the
# sessionUrl at a loopback/private/link-local address only with this set
# (backends.jmap.url_policy: no SSRF into the proxy's network with the account's credentials).
JMAP_UPSTREAM_ALLOW_PRIVATE = _env_flag("JMAP_UPSTREAM_ALLOW_PRIVATE")


def _oauth_client_secrets() -> dict[str, str]:
    """Secrets of confidential OAuth clients by client id (backends.jmap.oauth): Google's
    app, plus JMAP_OAUTH_CLIENT_SECRETS ("client-id=secret,..."). Public (PKCE) clients,
    such as Fastmail's, have none."""
    secrets_by_client: dict[str, str] = {}
    google_id, google_secret = _env_str("GOOGLE_CLIENT_ID"), _env_str("GOOGLE_CLIENT_SECRET")
    if google_id and google_secret:
        secrets_by_client[google_id] = google_secret
    for item in _env_str("JMAP_OAUTH_CLIENT_SECRETS").split(","):
        client_id, _, secret = item.strip().partition("=")
        if client_id and secret:
            secrets_by_client[client_id.strip()] = secret.strip()
    return secrets_by_client


JMAP_OAUTH_CLIENT_SECRETS = _oauth_client_secrets()


def _django_secret_key() -> str:
    """A per-installation key for sessions and CSRF, kept in the data directory."""
    path = DATADIR / "django-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = secrets.token_urlsafe(50)
        path.touch(mode=0o600)
        path.write_text(value)
        return value


SECRET_KEY = _django_secret_key()
DEBUG = False
ALLOWED_HOSTS = ["*"]  # every URL we emit is built from BASEURL, never from Host

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "django_celery_beat",
    "channels",
    # Only for its static files: with "ninja" installed, /api/docs serves Swagger UI
    # from the management port's /static/ instead of a public CDN, so the private
    # port works offline and leaks nothing to a third party.
    "ninja",
    "jmapsite",
    "accounts",
    "jmapcore",
    "backends",
]

# PortRoutingMiddleware only sets request.urlconf, which nothing reads before URL
# resolution, so it can sit innermost; it must: it is sync-only, and Django's
# ASGI handler runs every middleware *outside* the innermost sync-only one in
# async mode, where each MiddlewareMixin hands its process_request and
# process_response to a worker thread separately (about 16 thread hand-offs per
# request). With a sync-only middleware innermost the whole chain runs in one
# go on the request's thread.
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "jmapsite.ports.PortRoutingMiddleware",
]

# The JMAP URLconf is the default: a request on an unknown port never sees
# management URLs (jmapsite/ports.py).
ROOT_URLCONF = "jmapsite.urls_jmap"
MGMT_URLCONF = "jmapsite.urls_mgmt"
ASGI_APPLICATION = "jmapsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if ENV.database_url:
    DATABASES: dict[str, Any] = {"default": dj_database_url.parse(ENV.database_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATADIR / "accounts.sqlite3",
            # Keep a thread's connection between requests (web request threads
            # are pooled, jmapsite/asgi_pool.py): opening one and running the
            # pragmas below cost every API request a tenth of its time.
            "CONN_MAX_AGE": 60,
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

if ENV.redis_url:
    CACHES: dict[str, Any] = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": ENV.redis_url}
    }
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [ENV.redis_url]}}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "jmap_cache",
            # Rate-limit counters and request slots live here: never evict them early.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# maxConcurrentRequests/maxConcurrentUpload slots (jmapcore/concurrency.py). With
# a shared database or Redis any number of web processes may serve the API, so
# the slots live in the shared cache; the embedded setup (SQLite in the data
# directory) runs exactly one web process, whose in-memory slots are exact and
# cost no database write per request.
JMAP_CONCURRENCY_SLOTS = "cache" if ENV.redis_url or ENV.database_url else "local"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
# The dashboard's login under the failed-login limits of every password login (accounts/admin_login.py).
AUTHENTICATION_BACKENDS = ["accounts.admin_login.RateLimitedModelBackend"]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "/static/"
STATIC_ROOT = DATADIR / "static"

SESSION_COOKIE_NAME = "jmap_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = BASEURL.startswith("https://")
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
DATA_UPLOAD_MAX_MEMORY_SIZE = 60 * 1024 * 1024

# Celery: a filesystem broker in the data directory needs no daemon.
# The host part only keeps kombu from warning "No hostname was supplied" at every
# start: the filesystem transport uses the folders below, not the URL.
CELERY_BROKER_URL = ENV.redis_url or "filesystem://localhost/"
_BROKER_DIR = DATADIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = (
    {}
    if ENV.redis_url
    else {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # Kombu's exchange tables (broadcast/control): in the data directory, not
        # in ./control of whatever the working directory is (unwritable in the image).
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
        # The worker lists the queue folder this often (kombu's default is 1 s):
        # a sync queued by the IDLE listener starts within 0.1 s (issue: push ≈ 1 s).
        "polling_interval": 0.1,
    }
)
if not ENV.redis_url:
    for _folder in ("queue", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level() -> str:
    """JMAP_LOG_LEVEL, else INFO. The all-in-one start (runproxy without a role)
    gives its processes WARNING unless it is set: a quiet console."""
    raw = _env_str("JMAP_LOG_LEVEL").upper()
    if raw and raw not in LOG_LEVELS:
        raise SystemExit(f"JMAP_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return raw or "INFO"


JMAP_LOG_LEVEL = _log_level()
# Celery keeps the handlers below instead of installing its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": sys.stderr, "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": JMAP_LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # httpx logs every DAV request's full URL at INFO, userinfo included: ours say enough.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "jmap.debug": {"level": "DEBUG" if JMAP_DEBUG else "WARNING"},
    },
}
