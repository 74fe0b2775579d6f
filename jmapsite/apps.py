from __future__ import annotations

from django.apps import AppConfig


class JmapsiteConfig(AppConfig):
    name = "jmapsite"
    verbose_name = "jmap-proxy"
