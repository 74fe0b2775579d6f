"""backends.smtp.envelope.envelope_from_headers: the RFC 8621 §7 envelope
derived from a message's Sender/From and To/Cc/Bcc header fields."""
from __future__ import annotations

import pytest

from backends.smtp.envelope import EnvelopeError, envelope_from_headers


def headers(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\nbody\r\n").encode()


def test_mail_from_is_from_without_sender() -> None:
    raw = headers("From: Alice <alice@example.test>", "To: bob@example.test")
    assert envelope_from_headers(raw) == ("alice@example.test", ["bob@example.test"])


def test_sender_wins_over_from() -> None:
    raw = headers(
        "From: Alice <alice@example.test>", "Sender: Secretary <sec@example.test>", "To: bob@example.test"
    )
    assert envelope_from_headers(raw)[0] == "sec@example.test"


def test_first_of_several_from_addresses() -> None:
    raw = headers("From: alice@example.test, carol@example.test", "To: bob@example.test")
    assert envelope_from_headers(raw)[0] == "alice@example.test"


def test_recipients_from_to_cc_and_bcc_in_order() -> None:
    raw = headers(
        "From: alice@example.test",
        "To: Bob <bob@example.test>",
        "Cc: carol@example.test",
        "Bcc: dave@example.test",
    )
    assert envelope_from_headers(raw)[1] == ["bob@example.test", "carol@example.test", "dave@example.test"]


def test_duplicates_once_domain_case_insensitive() -> None:
    raw = headers(
        "From: alice@example.test",
        "To: bob@example.test, Bob Again <bob@EXAMPLE.test>",
        "Cc: bob@example.test",
        "Bcc: bob@Example.Test",
    )
    assert envelope_from_headers(raw)[1] == ["bob@example.test"]


def test_groups_are_expanded_and_empty_groups_ignored() -> None:
    raw = headers(
        "From: alice@example.test",
        "To: Friends: bob@example.test, Carol <carol@example.test>;, dave@example.test",
        "Cc: undisclosed-recipients:;",
    )
    assert envelope_from_headers(raw)[1] == ["bob@example.test", "carol@example.test", "dave@example.test"]


def test_folded_and_repeated_fields() -> None:
    raw = headers(
        "From: alice@example.test",
        "To: bob@example.test,",
        " carol@example.test",
        "To: dave@example.test",
    )
    assert envelope_from_headers(raw)[1] == ["bob@example.test", "carol@example.test", "dave@example.test"]


def test_encoded_display_names_do_not_matter() -> None:
    raw = headers("From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.test>", "To: =?utf-8?q?B=C3=B6b?= <bob@example.test>")
    assert envelope_from_headers(raw) == ("juergen@example.test", ["bob@example.test"])


def test_no_recipients_gives_an_empty_list() -> None:
    assert envelope_from_headers(headers("From: alice@example.test", "Subject: note to self")) == (
        "alice@example.test",
        [],
    )


@pytest.mark.parametrize("raw", [headers("To: bob@example.test"), headers("From: undisclosed:;", "To: b@example.test")])
def test_no_sender_address_is_an_error(raw: bytes) -> None:
    with pytest.raises(EnvelopeError):
        envelope_from_headers(raw)
