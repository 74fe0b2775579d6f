from __future__ import annotations

from django.apps import AppConfig


class JmapcoreConfig(AppConfig):
    name = "jmapcore"
    verbose_name = "JMAP core"

    def ready(self) -> None:
        # Importing the methods package registers every handler by method name.
        from jmapcore import methods  # noqa: F401
