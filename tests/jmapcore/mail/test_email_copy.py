"""Email/copy between two accounts of one login (RFC 8621 §4.7)."""
from __future__ import annotations

import secrets

from accounts.models import Account, SslMode
from tests.jmapcore.mail.conftest import MailUser, message


def _second_account(user: MailUser) -> Account:
    """A second IMAP account (another Dovecot user) in the same login."""
    login = f"work-{secrets.token_hex(4)}@example.test"
    password = user.dovecot.user_add(login)
    return Account.objects.create(
        accountid=f"work{secrets.token_hex(3)}", pool=user.pool, email=login, username=login, password=password,
        imap_host=user.dovecot.host, imap_port=user.dovecot.imap_port, imap_ssl=SslMode.PLAIN,
    )


def test_copy_into_another_account_and_destroy_original(alice_mail: MailUser) -> None:
    work = _second_account(alice_mail)
    alice_mail.deliver(message(subject="forward to work"))
    alice_mail.sync()
    from accounts.sync import account_sync

    account_sync(account_id=work.pk)
    [email_id] = alice_mail.ok("Email/query")["ids"]
    work_inbox = next(
        box["id"]
        for box in alice_mail.ok("Mailbox/get", accountId=work.accountid, ids=None)["list"]
        if box["role"] == "inbox"
    )
    responses = alice_mail.request(
        [
            "Email/copy",
            {
                "fromAccountId": alice_mail.account_id,
                "accountId": work.accountid,
                "create": {"c1": {"id": email_id, "mailboxIds": {work_inbox: True}, "keywords": {"$seen": True}}},
                "onSuccessDestroyOriginal": True,
            },
            "0",
        ]
    )
    (name, copied, _), (implicit_name, implicit, _) = responses
    assert name == "Email/copy" and copied["notCreated"] is None, copied
    new_id = copied["created"]["c1"]["id"]
    assert implicit_name == "Email/set" and implicit["destroyed"] == [email_id]
    [got] = alice_mail.ok("Email/get", accountId=work.accountid, ids=[new_id], properties=["subject", "keywords"])[
        "list"
    ]
    assert got["subject"] == "forward to work" and got["keywords"] == {"$seen": True}
    assert alice_mail.ok("Email/query")["ids"] == []
    with alice_mail.imap() as imap:
        imap.select_folder("INBOX", readonly=True)
        assert imap.search("ALL") == []


def test_copy_needs_two_accounts_of_the_caller(alice_mail: MailUser, bob_mail: MailUser) -> None:
    bob_mail.deliver(message(subject="mine"))
    bob_mail.sync()
    [bobs] = bob_mail.ok("Email/query")["ids"]
    responses = alice_mail.request(
        ["Email/copy", {"fromAccountId": bob_mail.account_id, "accountId": alice_mail.account_id,
                        "create": {"x": {"id": bobs, "mailboxIds": {"m1": True}}}}, "0"]
    )
    assert responses[0][0] == "error" and responses[0][1]["type"] == "accountNotFound"
