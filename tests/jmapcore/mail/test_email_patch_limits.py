"""An Email/set update's PatchObject has the same bound as every other one
(jmapcore.protocol.patch.MAX_PATHS paths, RFC 8620 §5.3 PatchObject), though
keywords and mailboxIds are patched by jmapcore.mail.email_update rather than
patch_apply: past the bound the update is invalidPatch and nothing changes,
on the server or in the cache."""
from __future__ import annotations

from jmapcore.protocol.patch import MAX_PATHS
from tests.jmapcore.mail.conftest import MailUser, message


def _server_flags(user: MailUser) -> list[set[bytes]]:
    with user.imap() as imap:
        imap.select_folder("INBOX", readonly=True)
        # \Recent is the server's own (RFC 3501 §2.3.2), not a keyword.
        return [set(flags) - {b"\\Recent"} for flags in imap.get_flags(imap.search("ALL")).values()]


def _one_email(user: MailUser) -> str:
    user.deliver(message(subject="patch me"))
    user.sync()
    [email_id] = user.ok("Email/query")["ids"]
    return str(email_id)


def test_a_keyword_patch_past_the_path_bound_is_refused_whole(alice_mail: MailUser) -> None:
    email_id = _one_email(alice_mail)
    patch: dict[str, object] = {f"keywords/k{index}": None for index in range(MAX_PATHS)}
    patch["keywords/$seen"] = True  # one path too many
    result = alice_mail.ok("Email/set", update={email_id: patch})
    assert result["updated"] is None
    error = result["notUpdated"][email_id]
    assert error["type"] == "invalidPatch"
    assert str(MAX_PATHS) in error["description"]
    assert _server_flags(alice_mail) == [set()]
    [email] = alice_mail.ok("Email/get", ids=[email_id], properties=["keywords"])["list"]
    assert email["keywords"] == {}


def test_a_keyword_patch_at_the_path_bound_is_applied(alice_mail: MailUser) -> None:
    email_id = _one_email(alice_mail)
    patch: dict[str, object] = {f"keywords/k{index}": None for index in range(MAX_PATHS - 1)}
    patch["keywords/$seen"] = True
    result = alice_mail.ok("Email/set", update={email_id: patch})
    assert result["updated"] == {email_id: None}
    assert _server_flags(alice_mail) == [{b"\\Seen"}]
