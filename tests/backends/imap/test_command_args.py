"""IMAP arguments from user data (backends.imap.command_args): a quoted string
only when it is safe, otherwise a literal; NUL and malformed flags refused
before a connection is used. Driven against the suite's Dovecot, with LITERAL+
(RFC 7888: `{n+}`) and without it (synchronising literals, RFC 3501 §4.3)."""
from __future__ import annotations

import pytest

from backends.imap import message_writes
from backends.imap.command_args import (
    ArgumentRefused,
    flag_valid,
    imap_search_uids,
    imap_string,
    search_arguments,
)
from backends.imap.pool import imap_session
from tests.backends.imap.conftest import Mailstore, mailstore_make, message
from tests.personas import Persona
from tests.servers.dovecot import _CAPABILITIES_WITHOUT_CONDSTORE, DovecotFactory, DovecotOptions

# Dovecot's own capabilities without LITERAL+ (and LITERAL-): the client must
# wait for the server's "+" before each literal.
NO_LITERAL_PLUS = DovecotOptions(
    tls=False,
    extra_config="imap_capability = "
    + " ".join(word for word in _CAPABILITIES_WITHOUT_CONDSTORE.split() if not word.startswith("LITERAL"))
    + " CONDSTORE QRESYNC",
)
INJECTION = "x\r\nZ1 DELETE Keep\r\nZ2 CREATE Injected\r\nZ3 NOOP"


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("invoice", b'"invoice"'),
        ('say "hi" \\ bye', b'"say \\"hi\\" \\\\ bye"'),
        ("", b'""'),
    ],
)
def test_safe_text_is_a_quoted_string(text: str, sent: bytes) -> None:
    assert imap_string(text) == sent


@pytest.mark.parametrize("text", ["a\r\nb", "a\nb", "a\rb", "grüße", "\x7fok\r"])
def test_other_text_is_a_literal(text: str) -> None:
    sent = imap_string(text)
    assert type(sent).__name__ == "_literal"  # IMAPClient sends it as {n} or {n+}
    assert sent == text.encode("utf-8")


@pytest.mark.parametrize("text", ["\x00", "in\x00voice", b"a\x00"])
def test_nul_is_refused(text: str | bytes) -> None:
    with pytest.raises(ArgumentRefused):
        imap_string(text)


@pytest.mark.parametrize("flag", ["\\Seen", "$label1", "Work", "a" * 255])
def test_flags(flag: str) -> None:
    assert flag_valid(flag)


@pytest.mark.parametrize(
    "flag", ["", "\\", "a b", "a\r\nZ1 DELETE Keep", "x)", "(x", "x\x00", "ü", "a" * 256, 'a"', "a]", "*", "%", "{3}"]
)
def test_not_flags(flag: str) -> None:
    assert not flag_valid(flag)


@pytest.mark.parametrize("criteria", [[], ["DELETE"], ["BODY"], ["BODY", "a", "b"], ["HEADER", "X"], ["ALL"]])
def test_search_keys_are_checked(criteria: list[str]) -> None:
    with pytest.raises(ArgumentRefused):
        search_arguments(criteria)


def _folders(store: Mailstore) -> set[str]:
    with store.client() as client:
        return {name for _flags, _sep, name in client.list_folders()}


def _search(store: Mailstore, criteria: list[str]) -> list[int]:
    arguments, utf8 = search_arguments(criteria)
    with imap_session(account=store.account) as client:
        client.select_folder("INBOX", readonly=True)
        return imap_search_uids(client, arguments=arguments, utf8=utf8)


@pytest.fixture(params=["literal+", "synchronising"])
def keeper(request: pytest.FixtureRequest, dovecot_factory: DovecotFactory, alice: Persona) -> Mailstore:
    """alice's account with a folder Keep that must survive, on each server flavour."""
    options = NO_LITERAL_PLUS if request.param == "synchronising" else DovecotOptions(tls=False)
    store = mailstore_make(dovecot_factory(options), alice)
    store.append(message("kept"), mailbox="Keep")
    store.append(message("Invoice", body="the invoice\r\n"))
    store.append(message("Grüße", body="grüße aus köln\r\n", extra="X-Note: say \"hi\" \\ bye"))
    with store.client() as client:
        literal_plus = client.has_capability("LITERAL+")
    assert literal_plus == (request.param == "literal+")
    return store


@pytest.mark.parametrize("key", ["BODY", "TEXT", "SUBJECT", "FROM"])
def test_line_breaks_in_a_search_run_no_command(keeper: Mailstore, key: str) -> None:
    before = _folders(keeper)
    assert _search(keeper, [key, INJECTION]) == []
    assert _folders(keeper) == before and "Keep" in before
    # Same pooled connection, still in step with its replies.
    assert _search(keeper, ["BODY", "invoice"]) == [1]
    assert _search(keeper, ["HEADER", "X-Note", 'say "hi" \\ bye']) == [2]
    assert _search(keeper, ["BODY", "grüße"]) == [2]


def test_flags_with_line_breaks_are_refused_before_store(keeper: Mailstore) -> None:
    before = _folders(keeper)
    for bad in ("a\r\nZ1 DELETE Keep\r\nZ2 NOOP", "a\nZ1 DELETE Keep", "a\rZ1 DELETE Keep", "a\x00"):
        with pytest.raises(ArgumentRefused):
            message_writes.messages_flags_change(account=keeper.account, imap_name="INBOX", uids=[1], add=[bad])
        with pytest.raises(ArgumentRefused):
            message_writes.messages_flags_change(account=keeper.account, imap_name="INBOX", uids=[1], remove=[bad])
        with pytest.raises(ArgumentRefused):
            message_writes.message_append(
                account=keeper.account, imap_name="INBOX", raw=message("new"), flags=[bad], received_at=None
            )
    assert _folders(keeper) == before
    with keeper.client() as client:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 2
        assert set(client.get_flags([1])[1]) <= {b"\\Recent"}
    # A good flag still goes through.
    message_writes.messages_flags_change(account=keeper.account, imap_name="INBOX", uids=[1], add=["$label1"])
    with keeper.client() as client:
        client.select_folder("INBOX", readonly=True)
        assert b"$label1" in client.get_flags([1])[1]
