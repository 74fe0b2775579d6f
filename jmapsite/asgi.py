"""The one ASGI application behind both ports (served by daphne).

HTTP goes to Django, whose PortRoutingMiddleware picks the URLconf by the port
the request arrived on (jmapsite/ports.py). WebSockets (RFC 8887) go to
jmapcore.push.routing, which serves them on the JMAP port only.
"""
from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (needs Django set up first)

from jmapcore.push.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application()})
