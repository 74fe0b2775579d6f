"""The landing page of the JMAP port."""

from __future__ import annotations

from django.test import Client, override_settings


def test_landing_page_points_to_the_session(jmap_client: Client, db: None) -> None:
    with override_settings(BASEURL="https://jmap.example.com"):
        response = jmap_client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "JMAP" in page
    assert "https://jmap.example.com/.well-known/jmap" in page
    assert "https://jmap.example.com/session" in page
    assert 'href="https://jmap.example.com/auth/login"' in page
    # Nothing of the management side is advertised on the public port.
    for management in ("/admin", "/api/", "/metrics", "/healthz", str(8080)):
        assert management not in page
