"""Typed readers for the environment variables of the product README.

Every variable has the default the README gives; nothing else reads os.environ.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip() or default


def _list(name: str, default: str) -> tuple[str, ...]:
    """A comma-separated list; unset means `default` (set it empty for none)."""
    raw = os.environ.get(name)
    return tuple(part.strip() for part in (default if raw is None else raw).split(",") if part.strip())


def _flag(name: str) -> bool:
    """On when set to anything but empty, 0, false, no or off."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class ProxyEnv:
    """The proxy's configuration as read from the environment at start."""

    base_url: str
    jmap_port: int
    mgmt_port: int
    mgmt_host: str
    datadir: Path
    home: Path
    idle_timeout: int
    sync_interval: int
    debug: bool
    secret_key: str
    openbao_addr: str
    openbao_token: str
    openbao_role_id: str
    openbao_secret_id: str
    openbao_mount: str
    openbao_key: str
    google_client_id: str
    google_client_secret: str
    fastmail_client_id: str
    database_url: str
    redis_url: str
    mgmt_token: str
    mgmt_allow: tuple[str, ...]
    tls_ca_file: str
    push_allow_private: bool = False
    push_allow_http: bool = False
    # Networks whose X-Forwarded-For is believed (jmapsite.client_address).
    trusted_proxies: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # Extra Host names the management port answers to (accounts.mgmt_auth).
    mgmt_hosts: tuple[str, ...] = ()


def read_env() -> ProxyEnv:
    """Read every variable with its documented default.

    BASEURL defaults to http://localhost:9000, or to the JMAP port when
    JMAP_PORT moves it, so that an unconfigured proxy hands out session URLs
    that reach it at least from the same machine.
    """
    jmap_port = _int("JMAP_PORT", 9000)
    return ProxyEnv(
        base_url=_str("BASEURL", f"http://localhost:{jmap_port}").rstrip("/"),
        jmap_port=jmap_port,
        mgmt_port=_int("JMAP_MGMT_PORT", 8080),
        mgmt_host=_str("JMAP_MGMT_HOST", "127.0.0.1"),
        datadir=Path(_str("JMAP_DATADIR", "/data")),
        home=Path(_str("JMAP_HOME", str(SOURCE_DIR))),
        idle_timeout=_int("JMAP_IDLE_TIMEOUT", 300),
        sync_interval=_int("JMAP_SYNC_INTERVAL", 30),
        debug="JMAP_DEBUG" in os.environ,
        secret_key=_str("JMAP_SECRET_KEY"),
        openbao_addr=_str("JMAP_OPENBAO_ADDR"),
        openbao_token=_str("JMAP_OPENBAO_TOKEN"),
        openbao_role_id=_str("JMAP_OPENBAO_ROLE_ID"),
        openbao_secret_id=_str("JMAP_OPENBAO_SECRET_ID"),
        openbao_mount=_str("JMAP_OPENBAO_MOUNT", "transit"),
        openbao_key=_str("JMAP_OPENBAO_KEY", "jmap-credentials"),
        google_client_id=_str("GOOGLE_CLIENT_ID"),
        google_client_secret=_str("GOOGLE_CLIENT_SECRET"),
        fastmail_client_id=_str("FASTMAIL_CLIENT_ID"),
        database_url=_str("DATABASE_URL"),
        redis_url=_str("REDIS_URL"),
        mgmt_token=_str("JMAP_MGMT_TOKEN"),
        mgmt_allow=tuple(
            part.strip() for part in _str("JMAP_MGMT_ALLOW", "127.0.0.0/8,::1/128").split(",") if part.strip()
        ),
        tls_ca_file=_str("JMAP_TLS_CA_FILE"),
        push_allow_private=_flag("JMAP_PUSH_ALLOW_PRIVATE"),
        push_allow_http=_flag("JMAP_PUSH_ALLOW_HTTP"),
        trusted_proxies=_list("JMAP_TRUSTED_PROXIES", "127.0.0.0/8,::1/128"),
        mgmt_hosts=_list("JMAP_MGMT_HOSTS", ""),
    )
