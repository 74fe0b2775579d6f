"""URLs of the management port (JMAP_MGMT_HOST:JMAP_MGMT_PORT): dashboard, API,
health and metrics. Never routed on the JMAP port (jmapsite/ports.py)."""
from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from django.views.static import serve

from accounts.mgmt_api import api as management_api
from jmapsite import dashboard_views, monitoring

# An unknown management path is a 404, not the admin's redirect to its login.
admin.site.final_catch_all_view = False

urlpatterns = [
    path("healthz", monitoring.healthz, name="healthz"),
    path("metrics", monitoring.metrics, name="metrics"),
    path("api/", management_api.urls),
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
    # The admin's index with the operator's figures; before the admin's own "" route.
    path("", admin.site.admin_view(dashboard_views.dashboard_home), name="dashboard"),
    path("", admin.site.urls),
]
