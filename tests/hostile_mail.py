"""A corpus of hostile mail shapes (issue 8): header values and whole RFC 5322
messages that made a parser backtrack, grow quadratically or allocate without
bound, plus the ordinary-but-long shapes real mail has (list bounces, dotted
names). Pure Python, no Django: used by the scaling tests (each shape at size
n and 16n in a subprocess), by the end-to-end Dovecot sync test and by
`make bench-mail` (bench/mail.py --only hostile).

- ``SHAPES[kind][name](n)`` gives one header value (str) or, for the kinds
  "headers" and "message", raw octets, growing linearly with ``n``;
  ``BASE_SIZE[kind]`` is the n at which each linear parser takes well under a
  second.
- ``hostile_messages()`` gives about 240 complete messages, each with what a
  reader must see in the list view (``HostileMessage``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

Shape = Callable[[int], str]
ByteShape = Callable[[int], bytes]

# -- header values ------------------------------------------------------------------


def _words(n: int, word: str = "word") -> list[str]:
    return [f"{word}{i % 10}" for i in range(n)]


ADDRESS_SHAPES: dict[str, Shape] = {
    "dotted_local_part": lambda n: ".".join(_words(n, "name")) + "@x.org",
    "dashed_local_part": lambda n: "-".join(_words(n, "dev")) + "@lists.example.org",
    "list_bounce": lambda n: "dev-announce-bounces+" + ".".join(_words(n, "alice")) + "=example.com@lists.example.org",
    "dotted_domain": lambda n: "alice@" + ".".join(_words(n, "sub")) + ".example",
    "display_name_60_words": lambda n: ", ".join(
        " ".join(_words(60, "Name")) + f" <user{i}@example.org>" for i in range(max(1, n // 60))),
    "dotted_display_name": lambda n: "A." * n + " <a@x.org>",
    "phrase_without_address": lambda n: "a.b-c d.e " * n,
    "many_addresses": lambda n: ", ".join(f"user{i}.name-{i}@dept{i % 7}.example.org" for i in range(n)),
    "nested_comments": lambda n: "(" * n + "x" + ")" * n + " alice@example.org",
    "unclosed_comments": lambda n: "alice@example.org " + "(a " * n,
    "unbalanced_quotes": lambda n: '"a, ' * n + "<alice@example.org>",
    "unbalanced_angles": lambda n: "<a@b, " * n + "alice@example.org",
    "open_angles": lambda n: "<" * n + "alice@example.org",
    "encoded_word_names": lambda n: ", ".join(f"=?utf-8?q?J=C3=B6rg_{i}?= =?iso-8859-1?q?M=FCller?= <j{i}@x.org>"
                                              for i in range(max(1, n // 10))),
    "unterminated_encoded_words": lambda n: "=?utf-8?q?abc " * n + "<a@x.org>",
    "backslashes": lambda n: '"' + "\\" * n + '" <a@x.org>',
    "domain_literal": lambda n: "alice@[" + "1." * n,
    "group_storm": lambda n: "g: " * n + "a@x.org" + ";" * n,
    "nul_and_8bit": lambda n: "\x00\xe9\u00ff a.\x00b@x.org, " * n,
    "at_signs_and_dots": lambda n: "a@." * n + "b",
}

DATE_SHAPES: dict[str, Shape] = {
    "blank_runs": lambda n: "Tue," + " " * n + "5" + " " * n + "Jun 2018 10:17:01 +0200",
    "dash_and_blank_runs": lambda n: "5" + " -" * n + " Jun 2018 10:17 +0200",
    "weekday_and_day_blank_runs": lambda n: "Tue" + " " * n + "5" + " " * n + "!",
    "trailing_blank_runs": lambda n: "1 Jan 2020 00:00" + " " * n + "x!",
    "long_3600_chars": lambda n: "Tue, 5 Jun 2018 10:17:01 +0200" + " 1" * n,
    "letters": lambda n: "a" * n + " , 1 Jan 2020 00:00 +0000",
    "digits": lambda n: "1" * n + " Jan 2020 00:00 +0000",
    "nested_comments": lambda n: "(" * n + "x" + ")" * n + " 1 Jan 2020 00:00 +0000",
    "unclosed_comment": lambda n: "1 Jan 2020 00:00 +0000 (" + "a(" * n,
    "colons": lambda n: "1 Jan 2020 " + "1:" * n,
    "zone_letters": lambda n: "1 Jan 2020 00:00 " + "Z" * n,
}

MESSAGE_ID_SHAPES: dict[str, Shape] = {
    "many_references": lambda n: "\r\n ".join(f"<ref{i}.{i * 7}@list.example.org>" for i in range(n)),
    "open_brackets": lambda n: "<" * n + "a@b>",
    "unclosed_ids": lambda n: "<a@b " * n,
    "close_brackets": lambda n: ">" * n + "<a@b>",
    "nested_comments": lambda n: "(" * n + "<a@b>" + ")" * n + " <c@d>",
    "long_id": lambda n: "<" + "x." * n + "@example.org>",
}

ENCODED_WORD_SHAPES: dict[str, Shape] = {
    "thousands_of_words": lambda n: " ".join("=?utf-8?b?SGFsbG8g?=" for _ in range(n)),
    "mixed_charsets": lambda n: " ".join(f"=?{cs}?q?caf=E9?=" for cs in ("iso-8859-1", "utf-8", "koi8-r") * n),
    "unterminated": lambda n: "=?utf-8?q?abc " * n,
    "opener_only": lambda n: "=?" * n,
    "question_marks": lambda n: "=?utf-8?q?" + "?" * n + "?=",
    "huge_charset_name": lambda n: "=?" + "x" * (n * 10) + "?q?abc?= tail",
    "words_without_spaces": lambda n: "=?utf-8?q?a?=" * n,
    "base64_junk": lambda n: "=?utf-8?b?" + "!@#$" * n + "?=",
}

PARAM_SHAPES: dict[str, Shape] = {
    "thousand_parameters": lambda n: "text/plain" + "".join(f'; p{i}="v{i}"' for i in range(n)),
    "rfc2231_continuations": lambda n: "application/pdf" + "".join(f"; name*{i}*=utf-8''%C3%A9{i}" for i in range(n)),
    "continuation_indexes_unordered": lambda n: "text/plain" + "".join(f"; n*{(i * 7919) % 10000}=x"
                                                                      for i in range(n)),
    "unbalanced_quotes": lambda n: 'text/plain; a="' * n,
    "nested_comments": lambda n: "text/plain" + "(" * n + "; a=b" + ")" * n,
    "equals_runs": lambda n: "text/plain; a" + "=" * n,
    "stars": lambda n: "text/plain; " + "*" * n + "=x",
    "huge_charset": lambda n: "text/plain; charset=" + "x" * (n * 10),
    "encoded_word_values": lambda n: "text/plain; name=" + "=?utf-8?q?a?= " * n,
}

HEADER_VALUE_SHAPES: dict[str, dict[str, Shape]] = {
    "addresses": ADDRESS_SHAPES,
    "date": DATE_SHAPES,
    "message_ids": MESSAGE_ID_SHAPES,
    "encoded_words": ENCODED_WORD_SHAPES,
    "params": PARAM_SHAPES,
}

# -- header blocks and whole messages ------------------------------------------------


def _header_block(fields: list[tuple[str, str]]) -> bytes:
    return b"".join(f"{name}: {value}\r\n".encode("utf-8", "surrogateescape") for name, value in fields) + b"\r\n"


def _address_block(n: int) -> bytes:
    return _header_block([("From", ADDRESS_SHAPES["list_bounce"](n)), ("To", ADDRESS_SHAPES["many_addresses"](n)),
                          ("Subject", "x"), ("Date", DATE_SHAPES["blank_runs"](n))])


HEADER_SHAPES: dict[str, ByteShape] = {
    "one_long_line": lambda n: b"Subject: " + b"x " * (n * 320) + b"\r\nFrom: a@x.org\r\n\r\n",
    "many_fields": lambda n: b"".join(b"X-F%d: v\r\n" % i for i in range(n)) + b"From: a@x.org\r\n\r\n",
    "many_folds": lambda n: b"Subject: a" + b"\r\n b" * n + b"\r\n\r\n",
    "long_field_name": lambda n: b"X-" + b"N" * (n * 50) + b": v\r\nSubject: s\r\n\r\n",
    "no_colon_lines": lambda n: b"From: a@x.org\r\n" + b"garbage line\r\n" * n,
    "bare_cr_lines": lambda n: b"Subject: a\rb\r" * n + b"\r\n",
    "nul_and_8bit": lambda n: b"Subject: \x00\xff\xfe\xe9" * n + b"\r\nFrom: \xe9l\xe8ve <e@x.org>\r\n\r\n",
    "address_shapes": _address_block,
    "encoded_subject": lambda n: _header_block([("Subject", ENCODED_WORD_SHAPES["thousands_of_words"](n))]),
    "unterminated_encoded_subject": lambda n: _header_block([("Subject", ENCODED_WORD_SHAPES["unterminated"](n))]),
    "many_references": lambda n: _header_block([("References", MESSAGE_ID_SHAPES["many_references"](n))]),
    "subject_prefixes": lambda n: _header_block([("Subject", "Re: " * n + "[list] " * n + "x" + " (fwd)" * n)]),
    "subject_blank_prefix": lambda n: _header_block([("Subject", "re" + " " * (n * 10) + "x")]),
}


def _nested(depth: int, leaf: bytes) -> bytes:
    head = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + leaf + tail


def _message(headers: bytes, body: bytes) -> bytes:
    return b"From: a@x.org\r\nSubject: hostile\r\n" + headers + b"\r\n" + body


MESSAGE_SHAPES: dict[str, ByteShape] = {
    "deep_multipart_40": lambda n: b"From: a@x.org\r\n" + _nested(40, b"Content-Type: text/plain\r\n\r\n"
                                                                     + b"deep text\r\n" * n),
    "deep_multipart_500": lambda n: b"From: a@x.org\r\n" + _nested(500, b"Content-Type: text/plain\r\n\r\n"
                                                                      + b"x" * n),
    "thousands_of_empty_parts": lambda n: _message(b"Content-Type: multipart/mixed; boundary=p\r\n",
                                                   b"--p\r\n\r\n" * n + b"--p--\r\n"),
    "thousand_content_type_params": lambda n: _message(
        ("Content-Type: " + PARAM_SHAPES["thousand_parameters"](n) + "\r\n").encode(), b"body\r\n"),
    "rfc2231_filename": lambda n: _message(
        b"Content-Type: multipart/mixed; boundary=p\r\n",
        b"--p\r\nContent-Type: text/plain\r\n\r\nhi\r\n--p\r\nContent-Disposition: attachment"
        + "".join(f"; filename*{i}*=utf-8''%C3%A9{i}" for i in range(n)).encode() + b"\r\n\r\nAAAA\r\n--p--\r\n"),
    "huge_charset_names": lambda n: _message(
        b"Content-Type: multipart/mixed; boundary=p\r\n",
        b"".join(b"--p\r\nContent-Type: text/plain; charset=" + b"x%d" % i * 100 + b"\r\n\r\nt\r\n"
                 for i in range(max(1, n // 10))) + b"--p--\r\n"),
    "html_unclosed_attributes": lambda n: _message(b"Content-Type: text/html\r\n", b'<a b="' * (n * 20)),
    "html_unclosed_comments": lambda n: _message(b"Content-Type: text/html\r\n", b"<!--<p>x" * (n * 20)),
    "boundary_lookalike_lines": lambda n: _message(b"Content-Type: multipart/mixed; boundary=abcdef\r\n",
                                                   b"--abcde\r\n" * n + b"--abcdef--\r\n"),
    "huge_boundary": lambda n: _message(b"Content-Type: multipart/mixed; boundary=" + b"b" * (n * 10) + b"\r\n",
                                        (b"--" + b"b" * (n * 10) + b"\r\n\r\nx\r\n") * 3),
    "base64_junk": lambda n: _message(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n",
                                      b"!!==\r\n" * n),
    "quoted_printable_soft_breaks": lambda n: _message(
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n", b"=\r\n" * n),
    "all_address_shapes": lambda n: _address_block(n) + b"body\r\n",
    "one_long_header_line": lambda n: HEADER_SHAPES["one_long_line"](n) + b"body\r\n",
}

# The n at which every linear parser of that kind takes well under a second;
# the scaling tests run n and 16 n.
BASE_SIZE = {
    "addresses": 200,
    "date": 225,  # 16 n blanks or digits: a 3,600-character Date header
    "message_ids": 320,  # 16 n: 5,120 References
    "encoded_words": 200,
    "params": 64,  # 16 n: 1,024 Content-Type parameters
    "headers": 200,
    "message": 200,
}

# -- whole messages for the end-to-end sync and the bench ----------------------------


@dataclass(frozen=True)
class HostileMessage:
    """One message of the hostile folder and what the list view must show."""

    name: str
    raw: bytes
    subject: str | None  # the Subject as a reader sees it; None: hostile, only required to be text
    from_email: str | None  # the From address, when the From field is readable
    sent_at: dt.datetime | None  # the Date, when the Date field is readable


_DATE = dt.datetime(2024, 3, 9, 8, 7, 6, tzinfo=dt.timezone(dt.timedelta(hours=2)))
_DATE_TEXT = "Sat, 9 Mar 2024 08:07:06 +0200"


def _plain(name: str, *, sender: str, date: str = _DATE_TEXT, extra: str = "", body: bytes = b"Hello.\r\n",
           subject: str | None = None) -> bytes:
    subject = subject if subject is not None else f"hostile {name}"
    head = (f"From: {sender}\r\nTo: alice@example.test\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <{name}@hostile.example>\r\nMIME-Version: 1.0\r\n{extra}")
    if "Content-Type" not in extra:
        head += "Content-Type: text/plain; charset=utf-8\r\n"
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


# Sizes per shape in the folder: six of each address shape, the rest spread so
# the folder has about 240 messages and a few MB in all.
_FOLDER_SIZES = (1, 16, 256, 1024)


def hostile_messages() -> list[HostileMessage]:
    """About 240 messages: every address, date, message-id, encoded-word and
    parameter shape in its own header at several sizes, and every header-block
    and message shape. Where the field under attack is not From/Date, From and
    Date are ordinary, so the list view must show them exactly."""
    out: list[HostileMessage] = []
    for shape, make in ADDRESS_SHAPES.items():
        for size in _FOLDER_SIZES:
            name = f"address-{shape}-{size}"
            out.append(HostileMessage(name, _plain(name, sender="bob@example.test", extra=f"Cc: {make(size)}\r\n"),
                                      f"hostile {name}", "bob@example.test", _DATE))
        for size in _FOLDER_SIZES[1:3]:
            name = f"from-{shape}-{size}"
            out.append(HostileMessage(name, _plain(name, sender=make(size)), f"hostile {name}", None, _DATE))
    for shape, make in DATE_SHAPES.items():
        for size in _FOLDER_SIZES[1:]:
            name = f"date-{shape}-{size}"
            out.append(HostileMessage(name, _plain(name, sender="bob@example.test", date=make(size)),
                                      f"hostile {name}", "bob@example.test", None))
    for shape, make in MESSAGE_ID_SHAPES.items():
        for size in _FOLDER_SIZES[1:]:
            name = f"references-{shape}-{size}"
            raw = _plain(name, sender="bob@example.test", extra=f"References: {make(size)}\r\nIn-Reply-To: "
                                                                  f"{make(size)}\r\n")
            out.append(HostileMessage(name, raw, f"hostile {name}", "bob@example.test", _DATE))
    for shape, make in ENCODED_WORD_SHAPES.items():
        for size in _FOLDER_SIZES[1:]:
            name = f"subject-{shape}-{size}"
            raw = _plain(name, sender="bob@example.test", subject=make(size), extra=f"X-Name: {name}\r\n")
            out.append(HostileMessage(name, raw, None, "bob@example.test", _DATE))
    for shape, make in PARAM_SHAPES.items():
        for size in _FOLDER_SIZES[1:3]:
            name = f"params-{shape}-{size}"
            raw = _plain(name, sender="bob@example.test", extra=f"Content-Type: {make(size)}\r\n")
            out.append(HostileMessage(name, raw, f"hostile {name}", "bob@example.test", _DATE))
    for shape, make_message in MESSAGE_SHAPES.items():
        for size in (8, 512):
            name = f"message-{shape}-{size}"
            raw = (f"Date: {_DATE_TEXT}\r\nMessage-ID: <{name}@hostile.example>\r\nX-Name: {name}\r\n"
                   ).encode() + make_message(size)
            out.append(HostileMessage(name, raw, None, None, _DATE))
    return out


# -- the parsers under test ----------------------------------------------------------

# parser name -> the kind of shape it reads. Every entry is public API that
# existed before issue 8 too, so the scaling tests can be pointed at old code.
PARSERS: dict[str, str] = {
    "message_parse.addresses_parse": "addresses",
    "header_form_parse.Addresses": "addresses",
    "header_form_parse.GroupedAddresses": "addresses",
    "message_parse.date_parse": "date",
    "header_form_parse.Date": "date",
    "message_parse.message_ids_parse": "message_ids",
    "header_form_parse.MessageIds": "message_ids",
    "message_parse.words_decode": "encoded_words",
    "header_form_parse.Text": "encoded_words",
    "params.parse_parameterised": "params",
    "message_parse.headers_parse": "headers",
    "mime.message_parse": "message",
}


def shape_make(kind: str, shape: str, size: int) -> str | bytes:
    if kind == "headers":
        return HEADER_SHAPES[shape](size)
    if kind == "message":
        return MESSAGE_SHAPES[shape](size)
    return HEADER_VALUE_SHAPES[kind][shape](size)


def shape_names(kind: str) -> list[str]:
    if kind == "headers":
        return list(HEADER_SHAPES)
    if kind == "message":
        return list(MESSAGE_SHAPES)
    return list(HEADER_VALUE_SHAPES[kind])


def parser_run(parser: str, value: str | bytes) -> object:
    """Run one parser on one value and return everything it produced (for a
    whole message: every property a client can ask for)."""
    module, _, name = parser.partition(".")
    if module == "message_parse":
        from backends.imap import message_parse

        return getattr(message_parse, name)(value)
    if module == "header_form_parse":
        from jmapcore.mime.headers import header_form_parse

        return header_form_parse(name, " " + str(value))
    if module == "params":
        from jmapcore.mime.params import parse_parameterised

        return parse_parameterised(str(value))
    from jmapcore.mime import message_parse as mime_parse

    assert isinstance(value, bytes)
    message = mime_parse(value)

    def blob(part_id: str) -> str:
        return part_id

    props = ["partId", "size", "name", "type", "charset", "disposition", "subParts"]
    parts = message.fetch_parts("all")
    return (message.metadata(), message.body_structure(blob, props), message.text_body(blob),
            message.attachments(blob), message.preview, message.body_values(parts[:50], 4096))
