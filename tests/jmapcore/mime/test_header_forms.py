"""Header parsed forms and header: properties (RFC 8621 §4.1.2, §4.1.3)."""
from __future__ import annotations

import pytest

from jmapcore.mime import HEADER_FORMS, header_form_allowed, header_form_parse, header_property_parse, message_parse

from .samples import crlf

RFC_EXAMPLE = (' "  James Smythe" <james@example.com>, Friends:\r\n  jane@example.com, '
               '=?UTF-8?Q?John_Sm=C3=AEth?=\r\n  <john@example.com>;')


def test_addresses_form_matches_the_rfc_example() -> None:
    assert header_form_parse("Addresses", RFC_EXAMPLE) == [
        {"name": "James Smythe", "email": "james@example.com"},
        {"name": None, "email": "jane@example.com"},
        {"name": "John Smîth", "email": "john@example.com"},
    ]


def test_grouped_addresses_form_matches_the_rfc_example() -> None:
    assert header_form_parse("GroupedAddresses", RFC_EXAMPLE) == [
        {"name": None, "addresses": [{"name": "James Smythe", "email": "james@example.com"}]},
        {"name": "Friends", "addresses": [
            {"name": None, "email": "jane@example.com"},
            {"name": "John Smîth", "email": "john@example.com"},
        ]},
    ]


def test_empty_group_and_trailing_mailboxes_are_kept_apart() -> None:
    value = " undisclosed-recipients:;, bob@example.org"
    assert header_form_parse("GroupedAddresses", value) == [
        {"name": "undisclosed-recipients", "addresses": []},
        {"name": None, "addresses": [{"name": None, "email": "bob@example.org"}]},
    ]
    assert header_form_parse("Addresses", value) == [{"name": None, "email": "bob@example.org"}]


def test_comment_after_addr_spec_becomes_the_name() -> None:
    assert header_form_parse("Addresses", " alice@example.com (Alice Liddell)") == [
        {"name": "Alice Liddell", "email": "alice@example.com"}]


def test_quoted_pairs_and_comments_in_names() -> None:
    value = ' "Bob \\"The Builder\\" Smith" (work) <bob@example.org>, Mallory <mallory@evil.example>'
    assert header_form_parse("Addresses", value) == [
        {"name": 'Bob "The Builder" Smith', "email": "bob@example.org"},
        {"name": "Mallory", "email": "mallory@evil.example"},
    ]


def test_rfc6532_utf8_address_and_name() -> None:
    assert header_form_parse("Addresses", " Jörg Müller <jörg@bücher.example>") == [
        {"name": "Jörg Müller", "email": "jörg@bücher.example"}]


def test_encoded_word_inside_quoted_string_is_not_decoded() -> None:
    # RFC 2047 §5: an encoded-word must not appear within a quoted-string.
    value = ' "=?UTF-8?Q?Bob?=" <bob@example.org>'
    assert header_form_parse("Addresses", value)[0]["name"] == "=?UTF-8?Q?Bob?="


def test_broken_address_list_is_best_effort() -> None:
    value = " Alice <alice@example.com>, bob@example.org,, (just a comment), carol"
    assert header_form_parse("Addresses", value) == [
        {"name": "Alice", "email": "alice@example.com"},
        {"name": None, "email": "bob@example.org"},
        {"name": None, "email": "carol"},
    ]
    # An unterminated angle-addr swallows the rest rather than failing.
    assert header_form_parse("Addresses", ' Alice <alice@example.com, "x') == [
        {"name": "Alice", "email": 'alice@example.com,"x'}]
    assert header_form_parse("Addresses", "") == []


def test_text_form_unfolds_strips_leading_space_and_decodes_adjacent_words() -> None:
    raw = " =?ISO-8859-1?Q?Caf=E9?= =?utf-8?B?IGF1?=\r\n =?utf-8?q?_lait?= ok"
    assert header_form_parse("Text", raw) == "Café au lait ok"


def test_text_form_joins_a_character_split_across_encoded_words() -> None:
    # "€" is E2 82 AC; the sender split it across two encoded words.
    assert header_form_parse("Text", " =?UTF-8?Q?=E2=82?= =?UTF-8?Q?=AC_5?=") == "€ 5"


def test_text_form_leaves_malformed_and_unknown_words_alone() -> None:
    assert header_form_parse("Text", " x=?UTF-8?Q?a?=") == "x=?UTF-8?Q?a?="
    assert header_form_parse("Text", " =?x-klingon?Q?a?=") == "=?x-klingon?Q?a?="
    # White space between an encoded word and ordinary text is kept.
    assert header_form_parse("Text", " =?UTF-8?Q?a?= b") == "a b"


def test_text_form_drops_encoded_control_characters_and_normalises_nfc() -> None:
    assert header_form_parse("Text", " =?UTF-8?Q?a=00b=07c?=") == "abc"
    assert header_form_parse("Text", " e\u0301t\u00e9") == "\u00e9t\u00e9"


def test_message_ids_form() -> None:
    assert header_form_parse("MessageIds", " <a@example.com>\r\n (comment) <b@example.com>") == [
        "a@example.com", "b@example.com"]
    assert header_form_parse("MessageIds", " not a message id") is None
    assert header_form_parse("MessageIds", " ") is None


def test_date_form_keeps_the_offset() -> None:
    assert header_form_parse("Date", " Tue, 5 Jun 2018 10:17:01 +0200 (CEST)") == "2018-06-05T10:17:01+02:00"
    assert header_form_parse("Date", " 1 Jan 99 23:59 -0000") == "1999-01-01T23:59:00Z"
    assert header_form_parse("Date", " Mon, 3 Mar 2003 08:00:00 EST") == "2003-03-03T08:00:00-05:00"


@pytest.mark.parametrize("value", [" yesterday", " 31 Feb 2020 10:00:00 +0000", " 1 Foo 2020 10:00 +0000",
                                   " 1 Jan 2020 25:00:00 +0000"])
def test_date_form_is_null_when_unparsable(value: str) -> None:
    assert header_form_parse("Date", value) is None


def test_urls_form() -> None:
    value = " <mailto:list@example.org?subject=help> (Help),\r\n <https://x.example/\r\n a>"
    assert header_form_parse("URLs", value) == [
        "mailto:list@example.org?subject=help", "https://x.example/a"]
    assert header_form_parse("URLs", " NO (posting not allowed)") is None


def test_header_property_parse() -> None:
    assert header_property_parse("header:List-Id:asText:all") == ("List-Id", "Text", True)
    assert header_property_parse("header:Subject") == ("Subject", "Raw", False)
    assert header_property_parse("header:From:all") == ("From", "Raw", True)
    assert header_property_parse("header:From:asaddresses") == ("From", "Addresses", False)
    for bad in ("header:", "header:From:asBogus", "header:From:all:asRaw", "header:Fr om", "From",
                "header:From:asText:all:extra"):
        assert header_property_parse(bad) is None, bad


def test_header_form_allowed_per_rfc_table() -> None:
    assert header_form_allowed("from", "Addresses")
    assert not header_form_allowed("From", "Date")
    assert not header_form_allowed("Subject", "Addresses")
    assert header_form_allowed("Subject", "Text")
    assert header_form_allowed("List-Id", "Text")
    assert not header_form_allowed("List-Post", "Text")
    assert header_form_allowed("List-Post", "URLs")
    assert header_form_allowed("Resent-Date", "Date")
    assert not header_form_allowed("Received", "Text")
    assert all(header_form_allowed("X-Anything", form) for form in HEADER_FORMS)
    assert all(header_form_allowed("Received", "Raw") for _ in HEADER_FORMS)


def test_message_headers_raw_values_and_instances() -> None:
    message = message_parse(crlf(
        "Received: from a\n\tby b\n"
        "Received: from c\n"
        "Subject: =?UTF-8?B?SGVsbG8gd29ybGQ=?=\n"
        "X-Eight-Bit: caf\u00e9\n"
        "\n"
        "body\n"))
    assert message.headers[0] == {"name": "Received", "value": " from a\r\n\tby b"}
    assert message.header("received", all=True) == [" from a\r\n\tby b", " from c"]
    assert message.header("RECEIVED") == " from c"
    assert message.header("Subject", "Text") == "Hello world"
    assert message.header("X-Eight-Bit", "Text") == "café"
    assert message.header("X-Missing") is None
    assert message.header("X-Missing", "Text", all=True) == []


def test_raw_form_replaces_invalid_utf8_and_drops_nul() -> None:
    message = message_parse(b"Subject: a\xffb\x00c\r\n\r\n")
    assert message.header("Subject") == " a\ufffdbc"


def test_metadata_is_the_convenience_properties() -> None:
    message = message_parse(crlf(
        "From: Alice <alice@example.com>\n"
        "Sender: bob@example.org\n"
        "To: bob@example.org\n"
        "Cc: Mallory <mallory@example.com>\n"
        "Reply-To: replies@example.com\n"
        "Subject: first\n"
        "Subject: Re: second\n"
        "Date: Wed, 1 May 2024 09:00:00 +0000\n"
        "Message-ID: <m1@example.com>\n"
        "In-Reply-To: <m0@example.com>\n"
        "References: <r@example.com> <m0@example.com>\n"
        "\nhi\n"))
    assert message.metadata() == {
        "messageId": ["m1@example.com"],
        "inReplyTo": ["m0@example.com"],
        "references": ["r@example.com", "m0@example.com"],
        "sender": [{"name": None, "email": "bob@example.org"}],
        "from": [{"name": "Alice", "email": "alice@example.com"}],
        "to": [{"name": None, "email": "bob@example.org"}],
        "cc": [{"name": "Mallory", "email": "mallory@example.com"}],
        "bcc": None,
        "replyTo": [{"name": None, "email": "replies@example.com"}],
        "subject": "Re: second",
        "sentAt": "2024-05-01T09:00:00Z",
    }
