"""Project wiring: settings, URLconfs for the two ports, the ASGI app, Celery."""
from __future__ import annotations

from jmapsite.celery import app as celery_app

__all__ = ["celery_app"]
