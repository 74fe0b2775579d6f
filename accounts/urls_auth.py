"""``/auth/`` on the JMAP port: cookie login and logout (accounts.auth_views)."""
from __future__ import annotations

from django.urls import path

from accounts import auth_views

app_name = "jmapauth"

urlpatterns = [
    path("login", auth_views.login_view, name="login"),
    path("logout", auth_views.logout_view, name="logout"),
]
