"""Personas with a contacts account for the AddressBook method tests.

`ContactsPerson` wraps a persona (tests.personas) whose account has a CardDAV
URL, and speaks JMAP to the proxy's API endpoint through the Django test
client. `book_row` makes an AddressBook cache row the way a sync would (for
the tests of /get and /changes that need no CardDAV server).
"""
from __future__ import annotations

import secrets
from typing import Any

from django.test import Client

from jmapcore.contacts.capability import CONTACTS_CAPABILITY
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.models.contacts import AddressBook
from jmapcore.state import state_change_atomic
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona

USING = [CORE_CAPABILITY, CONTACTS_CAPABILITY]


class ContactsPerson:
    """One persona's JMAP view of its contacts account."""

    def __init__(self, persona: Persona, *, carddav_url: str = "") -> None:
        self.persona = persona
        self.client = Client()
        account = persona.account
        account.carddav_url = carddav_url or f"http://127.0.0.1:9/{persona.login}/"
        account.save(update_fields=["carddav_url"])

    @property
    def account(self) -> Any:
        return self.persona.account

    @property
    def account_id(self) -> str:
        return self.persona.account_id

    def request(self, *calls: list[Any], using: list[str] | None = None) -> list[list[Any]]:
        body = jmap_request(*calls, using=USING if using is None else using)
        return method_responses(api_post(self.client, self.persona.basic, body))

    def call(self, name: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
        args = {"accountId": self.account_id, **arguments}
        [(response_name, result, _call_id)] = self.request([name, args, "c0"])
        return response_name, result

    def ok(self, name: str, **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, **arguments)
        assert response_name == name, result
        return result

    def error(self, name: str, **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, **arguments)
        assert response_name == "error", result
        return result

    def books(self) -> dict[str, dict[str, Any]]:
        """name -> AddressBook object."""
        return {book["name"]: book for book in self.ok("AddressBook/get", ids=None)["list"]}

    def state(self) -> str:
        return str(self.ok("AddressBook/get", ids=[])["state"])

    def book_row(
        self,
        name: str,
        *,
        privileges: list[str] | None = None,
        sort_order: int = 0,
        is_default: bool = False,
    ) -> AddressBook:
        """A cache row for a collection as sync writes it (no server involved)."""
        with state_change_atomic(account=self.account, type_names=["AddressBook"]) as modseq:
            return AddressBook.objects.create(
                account=self.account,
                jmap_id=jmap_id_new("a"),
                created_modseq=modseq,
                updated_modseq=modseq,
                name=name,
                sort_order=sort_order,
                is_default=is_default,
                dav_href=f"{self.account.carddav_url}{secrets.token_hex(4)}/",
                dav_privileges=["read", "write"] if privileges is None else privileges,
                vcard_version="4.0",
            )
