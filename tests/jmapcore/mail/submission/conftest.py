"""People who send mail through the proxy: MailUsers (tests.jmapcore.mail)
whose accounts also submit through the suite's real SMTP server
(tests/servers/smtp.py, STARTTLS, smtpSSL 3), which delivers to @example.test
Dovecot users over LMTP. Requests carry the submission capability."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from backends.imap.pool import imap_pool_close_all
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.mail.capability import MAIL_CAPABILITY
from jmapcore.mail.submission_capability import SUBMISSION_CAPABILITY
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.jmapcore.mail.conftest import MailUser
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp import SmtpServer, account_smtp_point

USING = [CORE_CAPABILITY, MAIL_CAPABILITY, SUBMISSION_CAPABILITY]
STARTTLS = 3


class Sender(MailUser):
    """A MailUser whose JMAP requests use urn:ietf:params:jmap:submission too."""

    def request(self, *calls: list[Any]) -> list[list[Any]]:
        return method_responses(api_post(self.client, self.auth, jmap_request(*calls, using=USING)))

    def submission_set(self, **arguments: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """EmailSubmission/set: (its response, the implicit Email/set response or None)."""
        responses = self.request(["EmailSubmission/set", {"accountId": self.account_id, **arguments}, "s0"])
        name, result, _ = responses[0]
        assert name == "EmailSubmission/set", result
        if len(responses) == 1:
            return result, None
        [(implicit_name, implicit, _)] = responses[1:]
        assert implicit_name == "Email/set", implicit
        return result, implicit

    def identity_id(self) -> str:
        [identity] = self.ok("Identity/get")["list"]
        return str(identity["id"])

    def draft_create(
        self,
        *,
        to: list[str],
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
        sender: str | None = None,
        subject_prefix: str = "hello",
    ) -> tuple[str, str]:
        """An Email/set-created draft ($draft, in Drafts) from this user; (email id, unique subject)."""
        subject = f"{subject_prefix}-{secrets.token_hex(5)}"
        response = self.ok("Email/set", create={"d": self.draft_json(to=to, cc=cc, bcc=bcc, sender=sender,
                                                                         subject=subject)})
        assert response["notCreated"] is None, response["notCreated"]
        return str(response["created"]["d"]["id"]), subject

    def draft_json(
        self,
        *,
        to: list[str],
        subject: str,
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
        sender: str | None = None,
    ) -> dict[str, Any]:
        boxes = self.mailboxes()
        draft: dict[str, Any] = {
            "mailboxIds": {boxes["drafts"]["id"]: True},
            "keywords": {"$draft": True, "$seen": True},
            "from": [{"name": self.account.name, "email": sender or self.login}],
            "to": [{"email": address} for address in to],
            "subject": subject,
            "bodyValues": {"b": {"value": f"Hello, this is {subject}.\n"}},
            "textBody": [{"partId": "b", "type": "text/plain"}],
        }
        if cc:
            draft["cc"] = [{"email": address} for address in cc]
        if bcc:
            draft["bcc"] = [{"email": address} for address in bcc]
        return draft

    def inbox_subjects(self) -> list[str]:
        """Subjects in this user's INBOX, as the proxy shows them after a sync."""
        self.sync()
        inbox = self.mailboxes()["inbox"]["id"]
        ids = self.ok("Email/query", filter={"inMailbox": inbox})["ids"]
        if not ids:
            return []
        return sorted(e["subject"] for e in self.ok("Email/get", ids=ids, properties=["subject"])["list"])


def _sender(client: Client, dovecot: DovecotServer, server: SmtpServer, name: str) -> Sender:
    user = Sender(client=client, dovecot=dovecot, name=name)
    account_smtp_point(account=user.account, server=server, ssl_mode=STARTTLS)
    user.sync()
    return user


@pytest.fixture
def alice(db: None, dovecot: DovecotServer, jmap_client: Client, smtp_tls_trust: SmtpServer) -> Iterator[Sender]:
    """Alice sends; her account submits over STARTTLS to the test SMTP server."""
    yield _sender(jmap_client, dovecot, smtp_tls_trust, "alice")
    imap_pool_close_all()


@pytest.fixture
def bob(db: None, dovecot: DovecotServer, jmap_client: Client, smtp_tls_trust: SmtpServer) -> Iterator[Sender]:
    """Bob receives (a Dovecot user at example.test, so the SMTP server delivers to him)."""
    yield _sender(jmap_client, dovecot, smtp_tls_trust, "bob")
    imap_pool_close_all()


@pytest.fixture
def carol(db: None, dovecot: DovecotServer, jmap_client: Client, smtp_tls_trust: SmtpServer) -> Iterator[Sender]:
    """Carol receives blind copies."""
    yield _sender(jmap_client, dovecot, smtp_tls_trust, "carol")
    imap_pool_close_all()
