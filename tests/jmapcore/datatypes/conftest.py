"""Helpers for driving the sample Note type through the real API endpoint."""
from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from jmapcore.limits import CORE_CAPABILITY
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona
from tests.sampletypes.datatypes import BACKEND_LOG, NOTES_CAPABILITY

USING = [CORE_CAPABILITY, NOTES_CAPABILITY]


class Notes:
    """One persona talking JMAP to the proxy about Notes."""

    def __init__(self, client: Client, persona: Persona) -> None:
        self.client = client
        self.persona = persona

    def request(self, *calls: list[Any], **extra: Any) -> list[list[Any]]:
        """Send method calls as they are; returns methodResponses."""
        return method_responses(api_post(self.client, self.persona.basic, jmap_request(*calls, using=USING, **extra)))

    def call(self, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """One call in the persona's own account; returns the arguments of a
        successful response, or of an error response (check "type")."""
        args = {"accountId": self.persona.account_id, **(arguments or {}), **kwargs}
        [(response_name, result, call_id)] = self.request([name, args, "c0"])
        assert call_id == "c0"
        assert response_name in (name, "error"), response_name
        if response_name == "error":
            assert "type" in result
            result = {"error": result["type"], **result}
        return result

    def ok(self, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        result = self.call(name, arguments, **kwargs)
        assert "error" not in result, result
        return result

    def error(self, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> str:
        result = self.call(name, arguments, **kwargs)
        assert "error" in result, result
        return str(result["error"])

    def create(self, **notes: dict[str, Any]) -> dict[str, str]:
        """Create notes by creation id; returns creation id -> real id."""
        result = self.ok("Note/set", create=notes)
        assert result["notCreated"] is None, result["notCreated"]
        return {cid: created["id"] for cid, created in result["created"].items()}

    def state(self) -> str:
        return str(self.ok("Note/get", ids=[])["state"])


@pytest.fixture
def alice_notes(jmap_client: Client, alice: Persona) -> Notes:
    return Notes(jmap_client, alice)


@pytest.fixture
def bob_notes(jmap_client: Client, bob: Persona) -> Notes:
    return Notes(jmap_client, bob)


@pytest.fixture(autouse=True)
def backend_log_clear() -> None:
    BACKEND_LOG.clear()
