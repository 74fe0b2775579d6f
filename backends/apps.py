from __future__ import annotations

from django.apps import AppConfig


class BackendsConfig(AppConfig):
    name = "backends"
    verbose_name = "Backends"

    def ready(self) -> None:
        # Register the "carddav" sync part (accounts.sync.sync_part_register) and
        # the IMAP syncer (accounts.sync.syncer_register) at startup.
        from backends.caldav import part as _caldav_part  # noqa: F401
        from backends.carddav import part  # noqa: F401
        from backends.imap import sync  # noqa: F401

        # The sync of JMAP passthrough accounts: refresh the upstream Session (accounts.sync.syncer_register).
        from backends.jmap import session_sync  # noqa: F401

        # Calls for passthrough accounts go upstream (jmapcore.passthrough; the engine cannot import backends).
        from backends.jmap.forward import PassthroughForwarder
        from jmapcore.passthrough import passthrough_register

        passthrough_register(PassthroughForwarder())

        # Uploads, downloads and cross-account copies of passthrough accounts (jmapcore.passthrough_blobs).
        from backends.jmap.blob_stream import UPSTREAM_BLOBS
        from jmapcore.passthrough_blobs import passthrough_blobs_register

        passthrough_blobs_register(UPSTREAM_BLOBS)
