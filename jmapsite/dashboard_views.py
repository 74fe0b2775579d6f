"""The dashboard's home: the admin index with the operator's figures on top.

Routed at the management root before the admin's own URLs (jmapsite.urls_mgmt)
and wrapped in the admin's login check, so "Home" and every breadcrumb lead
here and an anonymous visitor is sent to the login page.
"""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.sync_state import SyncState
from jmapsite.dashboard import dashboard_figures_read
from jmapsite.dashboard_chart import lag_chart_svg, requests_chart_svg


def dashboard_home(request: HttpRequest) -> HttpResponse:
    """The admin index (templates/admin/index.html) with `dashboard` figures."""
    figures = dashboard_figures_read(now=timezone.now())
    context = {
        "dashboard": figures,
        "dashboard_states": SyncState,
        "requests_chart": requests_chart_svg(figures.history),
        "lag_chart": lag_chart_svg(figures.history),
    }
    return admin.site.index(request, extra_context=context)
