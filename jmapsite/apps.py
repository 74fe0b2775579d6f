from __future__ import annotations

from django.apps import AppConfig


class JmapsiteConfig(AppConfig):
    name = "jmapsite"
    verbose_name = "jmap-proxy"

    def ready(self) -> None:
        # The dashboard's chart samples once a minute in every process (web:
        # requests, worker: sync lag); every process runs django.setup().
        from jmapsite.dashboard_history import dashboard_sampling_connect

        dashboard_sampling_connect()
