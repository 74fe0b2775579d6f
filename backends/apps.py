from __future__ import annotations

from django.apps import AppConfig


class BackendsConfig(AppConfig):
    name = "backends"
    verbose_name = "Backends"

    def ready(self) -> None:
        # Registers the IMAP syncer (accounts.sync.syncer_register) at startup.
        from backends.imap import sync  # noqa: F401
