from __future__ import annotations

from django.apps import AppConfig


class SampleTypesConfig(AppConfig):
    name = "tests.sampletypes"
    label = "sampletypes"
    verbose_name = "Sample JMAP types (tests only)"

    def ready(self) -> None:
        # Registers the Note capability and Note/get ... Note/queryChanges.
        from tests.sampletypes import datatypes  # noqa: F401
