"""Choose the URLconf by the port a request arrived on.

One ASGI application listens on both ports. Only a request whose server port is
the management port gets the management URLconf; anything else gets the JMAP
URLconf, so management URLs answer 404 on the JMAP port.
"""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def is_management_request(request: HttpRequest) -> bool:
    return str(request.META.get("SERVER_PORT", "")) == str(settings.JMAP_MGMT_PORT)


class PortRoutingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # HttpRequest.urlconf is the documented per-request URLconf hook
        # (docs: "How Django processes a request"); django-stubs does not declare it.
        request.urlconf = (  # type: ignore[attr-defined]
            settings.MGMT_URLCONF if is_management_request(request) else settings.ROOT_URLCONF
        )
        return self.get_response(request)
