"""A changed backend destination never receives the stored password
(accounts.services.account_update): mallory, able to send one PATCH, points
alice's account at an IMAP server of her own; the account check (or a later
sync) must not log in there with alice's stored password."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from accounts.models import Account, SslMode
from accounts.secrets import seal, unseal
from tests.accounts.mgmt import PortClient
from tests.personas import Persona

pytestmark = pytest.mark.django_db


@dataclass
class CaptureImap:
    """A plain-text IMAP server on 127.0.0.1 that records every line and refuses every login."""

    sock: socket.socket
    received: list[bytes] = field(default_factory=list)
    connections: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(5)
                conn.sendall(b"* OK [CAPABILITY IMAP4rev1] mallory's server\r\n")
                reader = conn.makefile("rb")
                try:
                    for line in reader:
                        self.received.append(line)
                        tag, _, command = line.partition(b" ")
                        if command.upper().startswith(b"CAPABILITY"):
                            conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
                        else:
                            conn.sendall(tag + b" NO go away\r\n")
                        if b"LOGOUT" in line.upper():
                            break
                except OSError:
                    pass

    def everything(self) -> bytes:
        return b"".join(self.received)


@pytest.fixture
def mallory_imap() -> Iterator[CaptureImap]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    server = CaptureImap(sock=sock)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield server
    server.stopping.set()
    sock.close()
    thread.join(timeout=5)


@pytest.fixture
def alice_sealed(alice: Persona) -> Persona:
    """alice's account as the API stores it: password sealed, IMAPS on 993."""
    Account.objects.filter(pk=alice.account.pk).update(password=seal(alice.password))
    return alice


@pytest.mark.parametrize("check", [True, False])
def test_moving_the_imap_host_without_the_password_is_refused(
    mgmt_api: PortClient, alice_sealed: Persona, mallory_imap: CaptureImap, check: bool
) -> None:
    move = {"imapHost": "localhost", "imapPort": mallory_imap.port, "imapSSL": 0, "check": check}
    response = mgmt_api.patch_json(f"/api/accounts/{alice_sealed.account_id}", move)
    assert response.status_code == 422
    answer = response.json()
    assert list(answer["fields"]) == ["password"]
    assert "never sent to a new destination" in answer["fields"]["password"]
    stored = Account.objects.get(pk=alice_sealed.account.pk)
    assert (stored.imap_host, stored.imap_port, stored.imap_ssl) == ("127.0.0.1", 993, SslMode.TLS)
    assert unseal(stored.password) == alice_sealed.password
    assert mallory_imap.connections == 0


def test_a_move_that_carries_a_password_sends_only_that_one(
    mgmt_api: PortClient, alice_sealed: Persona, mallory_imap: CaptureImap
) -> None:
    """The control for the test above: the capture server does see a check's login."""
    move = {"imapHost": "127.0.0.1", "imapPort": mallory_imap.port, "imapSSL": 0, "password": "typed-again-7"}
    response = mgmt_api.patch_json(f"/api/accounts/{alice_sealed.account_id}", move)
    assert response.status_code == 422  # mallory's server refuses the login
    assert response.json()["error"] == "backendCheckFailed"
    assert mallory_imap.connections == 1
    assert b"typed-again-7" in mallory_imap.everything()
    assert alice_sealed.password.encode() not in mallory_imap.everything()
    assert Account.objects.get(pk=alice_sealed.account.pk).imap_port == 993


@pytest.mark.parametrize(
    "change",
    [
        {"smtpHost": "smtp.mallory.example"},
        {"smtpPort": 2525},
        {"caldavURL": "https://dav.mallory.example/"},
        {"carddavURL": "https://dav.mallory.example/"},
        {"sessionUrl": "https://jmap.mallory.example/session", "type": "jmap"},
        {"imapSSL": 0},  # same server, but the password would cross the network in clear
        {"smtpSSL": 1},
    ],
)
def test_every_destination_change_needs_the_password(
    mgmt_api: PortClient, alice_sealed: Persona, change: dict[str, object]
) -> None:
    before = Account.objects.values().get(pk=alice_sealed.account.pk)
    response = mgmt_api.patch_json(f"/api/accounts/{alice_sealed.account_id}", {**change, "check": False})
    assert response.status_code == 422, response.content
    assert list(response.json()["fields"]) == ["password"]
    assert Account.objects.values().get(pk=alice_sealed.account.pk) == before


def test_changes_that_keep_the_destination_need_no_password(mgmt_api: PortClient, alice_sealed: Persona) -> None:
    same = {"imapHost": "127.0.0.1", "imapPort": 993, "name": "Alice L.", "readOnly": True, "check": False}
    response = mgmt_api.patch_json(f"/api/accounts/{alice_sealed.account_id}", same)
    assert response.status_code == 200, response.content
    upgrade = mgmt_api.patch_json(f"/api/accounts/{alice_sealed.account_id}", {"smtpSSL": 2, "check": False})
    assert upgrade.status_code == 200, upgrade.content  # STARTTLS -> TLS is no downgrade
    assert Account.objects.get(pk=alice_sealed.account.pk).name == "Alice L."


def test_the_password_in_the_same_request_allows_the_move(mgmt_api: PortClient, alice_sealed: Persona) -> None:
    move = {"smtpHost": "smtp.example.test", "password": "new-secret-9", "check": False}
    response = mgmt_api.patch_json(f"/api/accounts/{alice_sealed.account_id}", move)
    assert response.status_code == 200, response.content
    stored = Account.objects.get(pk=alice_sealed.account.pk)
    assert stored.smtp_host == "smtp.example.test"
    assert unseal(stored.password) == "new-secret-9"


def test_an_oauth_account_cannot_be_moved(mgmt_api: PortClient, alice_sealed: Persona) -> None:
    """A new password does not replace an OAuth token: it would still go to the new host."""
    Account.objects.filter(pk=alice_sealed.account.pk).update(oauth_access_token=seal("ya29.alice-access"))
    move = {"imapHost": "imap.mallory.example", "password": "anything", "check": False}
    response = mgmt_api.patch_json(f"/api/accounts/{alice_sealed.account_id}", move)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["imapHost"]
    assert Account.objects.get(pk=alice_sealed.account.pk).imap_host == "127.0.0.1"
