"""Personas with a contacts account for the AddressBook method tests.

`ContactsPerson` speaks JMAP to the proxy's API endpoint through the Django
test client, as one persona. `ContactsPerson.of(persona)` gives a persona
(tests.personas) a CardDAV URL with no server behind it; `book_row` then makes
AddressBook cache rows the way a sync would (for /get and /changes tests).
`ContactsPerson.on(server)` is a persona with a real account on a test DAV
server (tests/servers/radicale.py, xandikos.py), and `dav()` an httpx client
logged in there as another CardDAV client would be.
"""
from __future__ import annotations

import secrets
import ssl
from typing import Any

import httpx
from defusedxml import ElementTree
from django.contrib.auth.hashers import make_password
from django.test import Client

from accounts.models import Account
from jmapcore.contacts.capability import CONTACTS_CAPABILITY
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.models.contacts import AddressBook
from jmapcore.state import state_change_atomic
from tests.backends.carddav.dav_people import DavServer, carddav_account
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona
from tests.servers.dav_user import DavUser

USING = [CORE_CAPABILITY, CONTACTS_CAPABILITY]
DAV = "{DAV:}"
CARDDAV = "{urn:ietf:params:xml:ns:carddav}"
PROPFIND_NAMES = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:displayname/><C:addressbook-description/><D:resourcetype/></D:prop>
</D:propfind>"""

class ContactsPerson:
    """One persona's JMAP view of its contacts account."""

    def __init__(self, *, account: Account, login: str, password: str, server: DavServer | None = None) -> None:
        self.account = account
        self.login = login
        self.password = password
        self.server = server
        self.client = Client()
        # The DAV login of `on()` (carddav_account keeps it on the account object).
        self.dav_user: DavUser | None = getattr(account, "dav_user", None)

    @classmethod
    def of(cls, persona: Persona) -> ContactsPerson:
        """`persona` with a CardDAV URL nobody answers at (cache rows only)."""
        account = persona.account
        account.carddav_url = f"http://127.0.0.1:9/{persona.login}/"
        account.save(update_fields=["carddav_url"])
        return cls(account=account, login=persona.login, password=persona.password)

    @classmethod
    def on(cls, server: DavServer, *, persona: str = "alice") -> ContactsPerson:
        """A fresh user of `server` and the proxy account of `persona` in front of it."""
        account = carddav_account(server=server, persona=persona, accountid=f"{persona}{secrets.token_hex(3)}")
        password = f"{persona}-jmap-{secrets.token_hex(6)}"
        account.pool.password_hash = make_password(password)
        account.pool.save(update_fields=["password_hash"])
        return cls(account=account, login=account.pool.login, password=password, server=server)

    @property
    def auth(self) -> str:
        import base64

        return "Basic " + base64.b64encode(f"{self.login}:{self.password}".encode()).decode()

    @property
    def account_id(self) -> str:
        return str(self.account.accountid)

    def request(self, *calls: list[Any], using: list[str] | None = None) -> list[list[Any]]:
        body = jmap_request(*calls, using=USING if using is None else using)
        return method_responses(api_post(self.client, self.auth, body))

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

    # -- the CardDAV server, as another client sees it ----------------------------

    def sync(self) -> None:
        from backends.carddav import carddav_account_sync

        carddav_account_sync(account=self.account)
        self.account.refresh_from_db()

    def dav(self) -> httpx.Client:
        """An httpx client logged in as this user on the DAV server (use with `with`)."""
        assert self.server is not None and self.dav_user is not None
        user = self.dav_user
        verify = ssl.create_default_context(cafile=self.server.ca_file) if self.server.ca_file else True
        return httpx.Client(auth=(user.login, user.password), verify=verify, timeout=15)

    def dav_names(self, url: str) -> tuple[str, str] | None:
        """(displayname, addressbook-description) of the collection at `url`; None when it is gone."""
        with self.dav() as client:
            answer = client.request(
                "PROPFIND", url, content=PROPFIND_NAMES,
                headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
            )
        if answer.status_code == 404:
            return None
        assert answer.status_code == 207, answer.text
        tree = ElementTree.fromstring(answer.content)
        # Xandikos answers a PROPFIND on a missing collection with a 207 whose response says 404.
        statuses = [element.text or "" for element in tree.iter(f"{DAV}status")]
        if statuses and all(" 404 " in status for status in statuses):
            return None
        name = tree.find(f".//{DAV}displayname")
        description = tree.find(f".//{CARDDAV}addressbook-description")
        return (
            (name.text or "") if name is not None else "",
            (description.text or "") if description is not None else "",
        )

    def dav_put_card(self, book_url: str, *, uid: str, name: str) -> str:
        """PUT a small vCard into the collection, as another client; returns its URL."""
        url = f"{book_url}{uid.rsplit(':', 1)[-1]}.vcf"
        text = f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n"
        with self.dav() as client:
            answer = client.put(url, content=text, headers={"Content-Type": "text/vcard; charset=utf-8"})
        assert answer.status_code in (201, 204), answer.text
        return url

    def dav_delete(self, url: str) -> None:
        with self.dav() as client:
            answer = client.delete(url)
        assert answer.status_code in (200, 204), answer.text
