"""A mailbox name the IMAP server refuses answers invalidProperties on `name`
with the server's reason, not serverFail (RFC 8620 §5.3). The suite's Dovecot
stores mail in Maildir++, which refuses "." in names and names past the file
system's length limit."""
from __future__ import annotations

from tests.jmapcore.mail.conftest import MailUser


def _folders(user: MailUser) -> set[str]:
    with user.imap() as imap:
        return {name for _flags, _sep, name in imap.list_folders()}


def test_create_with_a_name_maildir_refuses(alice_mail: MailUser) -> None:
    alice_mail.sync()
    before = _folders(alice_mail)
    result = alice_mail.ok(
        "Mailbox/set",
        create={
            "dot": {"name": "v1.2 releases"},
            "long": {"name": "L" * 255},
            "slash": {"name": "a/b"},
            "fine": {"name": "Releases"},
        },
    )
    dot = result["notCreated"]["dot"]
    assert dot["type"] == "invalidProperties" and dot["properties"] == ["name"]
    assert "not allowed in mailbox name" in dot["description"]  # Dovecot's own words
    assert "secs" not in dot["description"]
    long = result["notCreated"]["long"]
    assert long["type"] == "invalidProperties" and long["properties"] == ["name"]
    slash = result["notCreated"]["slash"]
    assert slash["type"] == "invalidProperties" and slash["properties"] == ["name"]
    assert set(result["created"]) == {"fine"}
    assert _folders(alice_mail) - before == {"Releases"}


def test_rename_to_a_name_maildir_refuses(alice_mail: MailUser) -> None:
    alice_mail.sync()
    created = alice_mail.ok("Mailbox/set", create={"p": {"name": "Projects"}})["created"]["p"]["id"]
    result = alice_mail.ok("Mailbox/set", update={created: {"name": "Projects.old"}})
    error = result["notUpdated"][created]
    assert error["type"] == "invalidProperties" and error["properties"] == ["name"]
    assert "Projects" in _folders(alice_mail)
    [box] = alice_mail.ok("Mailbox/get", ids=[created], properties=["name"])["list"]
    assert box["name"] == "Projects"
    # The connection is still good for the next write.
    renamed = alice_mail.ok("Mailbox/set", update={created: {"name": "Projects 2026"}})
    assert renamed["updated"] == {created: None}, renamed
