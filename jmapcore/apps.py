from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig

# Importing each of these registers its handlers by method name: the core
# methods, then one package per JMAP capability (jmapcore/<capability>/methods).
METHOD_PACKAGES = (
    "jmapcore.methods",
    "jmapcore.mail.methods",
    "jmapcore.principals.methods",
    "jmapcore.contacts.methods",
    "jmapcore.calendars.methods",
)


class JmapcoreConfig(AppConfig):
    name = "jmapcore"
    verbose_name = "JMAP core"

    def ready(self) -> None:
        for package in METHOD_PACKAGES:
            import_module(package)
