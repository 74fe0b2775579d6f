"""The one ASGI application behind both ports (served by uvicorn, jmapsite/web_server.py).

HTTP goes to Django, whose PortRoutingMiddleware picks the URLconf by the port
the request arrived on (jmapsite/ports.py), through PooledThreadASGIHandler
(jmapsite/asgi_pool.py: Django's handler, each request's thread taken from a
pool instead of started and joined per request). WebSockets (RFC 8887) go to
jmapcore.push.routing, which serves them on the JMAP port only.
"""
from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")
# What django.core.asgi.get_asgi_application() does, with our handler class.
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter  # noqa: E402  (needs Django set up first)

from jmapcore.push.routing import websocket_application  # noqa: E402
from jmapsite.asgi_pool import PooledThreadASGIHandler  # noqa: E402

django_asgi_app = PooledThreadASGIHandler()

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application()})
