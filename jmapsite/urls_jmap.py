"""URLs of the public JMAP port. Nothing here is management."""
from __future__ import annotations

from django.urls import include, path

from jmapcore import api, blob_views, session
from jmapcore.push import eventsource

urlpatterns = [
    path(".well-known/jmap", session.well_known, name="jmap-well-known"),
    path("session", session.session_view, name="jmap-session"),
    path("jmap/", api.api_view, name="jmap-api"),
    path("eventsource/", eventsource.eventsource_view, name="jmap-eventsource"),
    path("upload/<str:account_id>/", blob_views.upload_view, name="jmap-upload"),
    path("download/<str:account_id>/<str:blob_id>/<path:name>", blob_views.download_view, name="jmap-download"),
    path("auth/", include("accounts.urls_auth")),
    path("", session.landing_view, name="jmap-landing"),
]
