"""The vCard syntax layer: unfolding and folding, quoting, groups, the 2.1/3.0/4.0
forms, escapes, and a byte-identical round trip of untouched cards (RFC 6350 §3,
RFC 2426, vCard 2.1, RFC 6868)."""
from __future__ import annotations

import pytest

from jmapcore.contacts.jscontact.vcard_model import VCard, VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import (
    line_fold,
    name_valid,
    property_line,
    value_components,
    value_components_join,
    value_escape,
    value_split,
    value_unescape,
    vcard_parse,
    vcard_serialize,
    vcards_parse,
)

ALICE = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
    "FN:Alice Liddell\r\n"
    "N:Liddell;Alice;;;\r\n"
    "EMAIL;TYPE=work:alice@example.com\r\n"
    "END:VCARD\r\n"
)


def _unfolded(text: str) -> list[str]:
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")


# --- reading -----------------------------------------------------------------------------------------------

def test_alice_card_reads_into_properties_in_order() -> None:
    card = vcard_parse(ALICE)
    assert [prop.name for prop in card.properties] == ["VERSION", "UID", "FN", "N", "EMAIL"]
    assert card.version == "4.0"
    assert card.problems == []
    email = card.all("email")[0]
    assert email.value == "alice@example.com"
    assert email.params == [VCardParam("TYPE", ["work"])]
    assert email.raw == "EMAIL;TYPE=work:alice@example.com"


@pytest.mark.parametrize("fold", ["\r\n ", "\r\n\t", "\n ", "\n\t"])
def test_folded_lines_join_with_crlf_or_lf_and_space_or_tab(fold: str) -> None:
    text = ALICE.replace("FN:Alice Liddell", f"FN:Alice{fold} Lid{fold}dell")
    card = vcard_parse(text)
    assert card.all("FN")[0].value == "Alice Liddell"


def test_fold_inside_a_utf8_sequence_point_reads_back_whole() -> None:
    # Folding happens between characters on the wire; a writer that folds at
    # 75 octets puts the break before a multi-byte character, never inside.
    name = "Zoë Ælfgifu 北京市朝阳区 " * 6
    line = f"FN:{name}"
    folded = line_fold(line)
    for physical in folded.split("\r\n"):
        assert len(physical.encode()) <= 75
    card = vcard_parse(f"BEGIN:VCARD\r\nVERSION:4.0\r\n{folded}\r\nEND:VCARD\r\n")
    assert card.all("FN")[0].value == name


def test_fold_keeps_a_leading_space_of_the_continuation_as_content() -> None:
    line = "NOTE:" + "a" * 70 + "     " + "b" * 10
    card = vcard_parse(f"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\n{line_fold(line)}\r\nEND:VCARD\r\n")
    assert card.all("NOTE")[0].value == line[5:]


def test_groups_are_kept_as_written_and_names_upper_cased() -> None:
    text = ALICE.replace("EMAIL;TYPE=work:", "item1.email;type=work:").replace(
        "END:VCARD", "item1.X-ABLabel:_$!<Other>!$_\r\nEND:VCARD")
    card = vcard_parse(text)
    email, label = card.all("EMAIL")[0], card.all("X-ABLABEL")[0]
    assert (email.group, email.name, label.group) == ("item1", "EMAIL", "item1")
    assert email.params == [VCardParam("TYPE", ["work"])]


def test_quoted_parameter_values_hold_colons_semicolons_and_commas() -> None:
    line = 'ADR;LABEL="Mallory Inc.\\n12 Rue de l\'Église; Bât. B, 3e: porte";TYPE=work:;;12 Rue;Paris;;75001;FR'
    card = vcard_parse(ALICE.replace("END:VCARD", f"{line}\r\nEND:VCARD"))
    adr = card.all("ADR")[0]
    assert adr.param("LABEL") == ["Mallory Inc.\\n12 Rue de l'Église; Bât. B, 3e: porte"]
    assert adr.param("TYPE") == ["work"]
    assert adr.value == ";;12 Rue;Paris;;75001;FR"


def test_parameter_lists_split_on_unquoted_commas_only() -> None:
    card = vcard_parse(ALICE.replace("EMAIL;TYPE=work", 'TEL;TYPE=work,voice;X-Y="a,b",c'))
    tel = card.all("TEL")[0]
    assert tel.params == [VCardParam("TYPE", ["work", "voice"]), VCardParam("X-Y", ["a,b", "c"])]


def test_rfc6868_caret_encoding_is_decoded() -> None:
    card = vcard_parse(ALICE.replace("EMAIL;TYPE=work", "EMAIL;X-LABEL=\"Bob ^'the^' ^^ Builder^nLine 2\";X-Q=^x"))
    email = card.all("EMAIL")[0]
    assert email.param("X-LABEL") == ['Bob "the" ^ Builder\nLine 2']
    assert email.param("X-Q") == ["^x"]


def test_nameless_parameters_are_type_except_21_encodings_and_value_locations() -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Builder;Bob\r\nTEL;WORK;VOICE:+1-555-0100\r\n"
        "PHOTO;URL:http://example.com/bob.jpg\r\nKEY;BASE64:QUJD\r\nEND:VCARD\r\n"
    )
    card = vcard_parse(text)
    assert card.all("TEL")[0].params == [VCardParam("TYPE", ["WORK"]), VCardParam("TYPE", ["VOICE"])]
    assert card.all("PHOTO")[0].params == [VCardParam("VALUE", ["URL"])]
    assert card.all("KEY")[0].params == [VCardParam("ENCODING", ["BASE64"])]
    assert card.problems == []  # 2.1 needs no FN


def test_quoted_printable_soft_breaks_and_charset_are_decoded() -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "N;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:M=FCller;J=E9r=F4me\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:First line=0D=0ASecond line is a long one that goes on=\r\n"
        " and on, with =C3=A9\r\n"
        "ADR;HOME;QUOTED-PRINTABLE:;;Rue du Ch=E2teau 4;Gen=E8ve;;1204;Suisse\r\n"
        "END:VCARD\r\n"
    )
    card = vcard_parse(text)
    name, note, adr = card.all("N")[0], card.all("NOTE")[0], card.all("ADR")[0]
    assert name.value == "Müller;Jérôme"
    assert name.params == []
    assert note.value == "First line\\nSecond line is a long one that goes on and on, with é"
    assert note.params == []
    # No CHARSET and not UTF-8: read as Windows-1252, and said so.
    assert adr.value == ";;Rue du Château 4;Genève;;1204;Suisse"
    assert adr.params == [VCardParam("TYPE", ["HOME"])]
    assert any("not UTF-8" in problem for problem in card.problems)
    # The soft break is kept in raw, so the card is written back as it was.
    assert "=\r\n" in vcard_serialize(card)
    assert vcard_serialize(card) == text


def test_quoted_printable_soft_break_never_swallows_the_end_of_the_card() -> None:
    text = "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE:dangling=\r\nEND:VCARD\r\n"
    cards = vcards_parse(text + text)
    assert len(cards) == 2
    assert cards[0].all("NOTE")[0].value == "dangling"


def test_base64_lines_of_21_without_indent_are_joined_up_to_the_blank_line() -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Builder;Bob\r\n"
        "PHOTO;ENCODING=BASE64;TYPE=JPEG:\r\n/9j/4AAQSkZJRgABAQEASABIAAD\r\n/2wBDAAMCAgICAgMCAgIDAwMDBAYEBA==\r\n\r\n"
        "TEL:+1 555 0100\r\nEND:VCARD\r\n"
    )
    card = vcard_parse(text)
    photo = card.all("PHOTO")[0]
    assert photo.value == "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBA=="
    assert photo.param("ENCODING") == ["BASE64"]
    assert card.all("TEL")[0].value == "+1 555 0100"
    assert card.problems == []


def test_charset_without_quoted_printable_is_dropped() -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN;CHARSET=UTF-8:Zoë\r\nEND:VCARD\r\n"
    card = vcard_parse(text)
    assert card.all("FN")[0].params == []
    assert card.all("FN")[0].value == "Zoë"


def test_version_30_and_21_line_forms_read() -> None:
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nPRODID:-//Apple Inc.//Mac OS X 10.15.7//EN\nN:Builder;Bob;;;\nFN:Bob Builder\n"
        "item1.TEL;type=CELL;type=VOICE;type=pref:+44 20 7946 0018\nitem1.X-ABLabel:mobile\nEND:VCARD\n"
    )
    card = vcard_parse(text)
    tel = card.all("TEL")[0]
    assert tel.params == [VCardParam("TYPE", ["CELL"]), VCardParam("TYPE", ["VOICE"]), VCardParam("TYPE", ["pref"])]
    assert card.problems == []  # LF only, consistently: fine


def test_several_cards_and_text_between_them() -> None:
    bob = ALICE.replace("Alice Liddell", "Bob Builder")
    cards = vcards_parse(f"preamble\r\n{ALICE}\r\n\r\n{bob}trailer\r\n")
    assert [card.all("FN")[0].value for card in cards] == ["Alice Liddell", "Bob Builder"]
    assert any("'preamble'" in problem for problem in cards[0].problems)
    assert any("'trailer'" in problem for problem in cards[1].problems)


def test_vcard_parse_reports_none_and_several() -> None:
    empty = vcard_parse("no card here\r\n")
    assert empty.properties == []
    assert any("no vCard" in problem for problem in empty.problems)
    two = vcard_parse(ALICE + ALICE.replace("Alice", "Mallory"))
    assert two.all("FN")[0].value == "Alice Liddell"
    assert any("2 vCards" in problem for problem in two.problems)


# --- broken input: read what can be read, say what could not -----------------------------------------------

def test_byte_order_mark_does_not_hide_the_card() -> None:
    card = vcard_parse("\ufeff" + ALICE)
    assert card.all("FN")[0].value == "Alice Liddell"
    assert card.problems == []


def test_sloppy_names_stay_properties_with_a_problem() -> None:
    text = ALICE.replace("END:VCARD", "X_MALLORY_ID:42\r\nNOTE :spaced name\r\nEND:VCARD")
    card = vcard_parse(text)
    assert card.all("X_MALLORY_ID")[0].value == "42"
    assert card.all("NOTE")[0].value == "spaced name"
    assert any("'X_MALLORY_ID' is not a valid vCard name" in problem for problem in card.problems)
    assert vcard_serialize(card) == ALICE.replace("END:VCARD", "X_MALLORY_ID:42\r\nNOTE :spaced name\r\nEND:VCARD")


def test_line_without_colon_joins_the_property_before_it_as_a_new_line() -> None:
    text = ALICE.replace("END:VCARD", "NOTE:Met at the mad tea party\r\nbring a watch\r\nEND:VCARD")
    card = vcard_parse(text)
    note = card.all("NOTE")[0]
    assert note.value == "Met at the mad tea party\\nbring a watch"
    assert note.raw is None
    assert any("line 8" in problem and "not a property" in problem for problem in card.problems)
    assert "NOTE:Met at the mad tea party\\nbring a watch\r\n" in vcard_serialize(card)


def test_missing_end_and_begin_inside_a_card_close_the_card() -> None:
    text = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Mallory\r\n" + ALICE.replace("END:VCARD\r\n", "")
    cards = vcards_parse(text)
    assert [card.all("FN")[0].value for card in cards] == ["Mallory", "Alice Liddell"]
    assert any("BEGIN:VCARD before the END:VCARD" in problem for problem in cards[0].problems)
    assert any("no END:VCARD" in problem for problem in cards[1].problems)


def test_missing_fn_and_version_are_problems() -> None:
    card = vcard_parse("BEGIN:VCARD\r\nN:Liddell;Alice\r\nEND:VCARD\r\n")
    assert "no VERSION" in card.problems
    assert any("no FN" in problem for problem in card.problems)


def test_unknown_encoding_is_kept_and_reported() -> None:
    card = vcard_parse(ALICE.replace("END:VCARD", "PHOTO;ENCODING=UUENCODE:begin 644 x\r\nEND:VCARD"))
    assert card.all("PHOTO")[0].value == "begin 644 x"
    assert any("unknown ENCODING='UUENCODE'" in problem for problem in card.problems)


def test_unclosed_quote_reads_up_to_the_first_colon() -> None:
    card = vcard_parse(ALICE.replace("EMAIL;TYPE=work:", 'EMAIL;X-LABEL="never closed:'))
    email = card.all("EMAIL")[0]
    assert email.value == "alice@example.com"
    assert email.param("X-LABEL") == ["never closed"]
    assert any("closing quote" in problem for problem in card.problems)


def test_mixed_line_ends_are_reported() -> None:
    card = vcard_parse(ALICE.replace("FN:Alice Liddell\r\n", "FN:Alice Liddell\n"))
    assert card.all("FN")[0].value == "Alice Liddell"
    assert any("mixes CRLF" in problem for problem in card.problems)


def test_problems_are_capped() -> None:
    junk = "".join(f"!junk {index}: mallory was here\r\n" for index in range(1000))
    card = vcard_parse("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Mallory\r\n" + junk + "END:VCARD")
    assert card.all("FN")[0].value.startswith("Mallory\\n!junk 0: mallory was here\\n!junk 1")
    assert len(card.problems) <= 52
    assert card.problems[-1].startswith("…")


def test_property_over_one_mebibyte_is_kept_and_reported() -> None:
    photo = "A" * (1 << 20) + "AAAA"
    card = vcard_parse(ALICE.replace("END:VCARD", f"PHOTO;ENCODING=b;TYPE=JPEG:{photo}\r\nEND:VCARD"))
    assert card.all("PHOTO")[0].value == photo
    assert any("over 1 MiB" in problem for problem in card.problems)


SCRAPS = ["", "\x00\xff\ufffd", "BEGIN:VCARD", ":", "END:VCARD\r\nBEGIN:VCARD\r\n;;;:\r\n",
          "BEGIN:VCARD\r\n \r\n\t:\r\nX;=\"\r\nEND:VCARD", "\r\r\r", "BEGIN:VCARD\rFN:a\rEND:VCARD"]


@pytest.mark.parametrize("text", SCRAPS)
def test_hostile_scraps_never_raise(text: str) -> None:
    cards = vcards_parse(text)
    card = vcard_parse(text)
    assert isinstance(cards, list)
    assert card.problems  # every one of these is wrong in some way


# --- writing -----------------------------------------------------------------------------------------------

def test_untouched_card_round_trips_byte_for_byte() -> None:
    card = vcard_parse(ALICE)
    assert vcard_serialize(card) == ALICE


def test_long_lines_refold_identically_after_a_round_trip() -> None:
    text = ALICE.replace("FN:Alice Liddell", line_fold("FN:" + "Alice Pleasance Liddell of Christ Church Oxford " * 4))
    assert vcard_serialize(vcard_parse(text)) == text


def test_only_the_changed_property_is_rewritten() -> None:
    text = ALICE.replace("N:Liddell;Alice;;;", "N:Liddell;Alice;;;  ")  # odd trailing blanks, kept
    card = vcard_parse(text)
    email = card.all("EMAIL")[0]
    email.value, email.raw = "alice@wonderland.example", None
    out = vcard_serialize(card)
    assert out == text.replace("alice@example.com", "alice@wonderland.example")


def test_property_line_quotes_and_encodes_parameter_values() -> None:
    prop = VCardProperty("ADR", ";;1 Main St;Springfield", params=[
        VCardParam("LABEL", ['1 Main St\nSpringfield, "USA"']), VCardParam("TYPE", ["work", "pref"]),
        VCardParam("X-CARET", ["^"]),
    ], group="item2")
    line = property_line(prop)
    assert line == ("item2.ADR;LABEL=\"1 Main St^nSpringfield, ^'USA^'\";TYPE=work,pref;X-CARET=^^"
                    ":;;1 Main St;Springfield")
    reread = vcard_parse(f"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\n{line}\r\nEND:VCARD").all("ADR")[0]
    assert (reread.params, reread.group, reread.value) == (prop.params, prop.group, prop.value)


def test_writer_cannot_be_made_to_inject_lines() -> None:
    card = VCard(properties=[
        VCardProperty("VERSION", "4.0"), VCardProperty("FN", "Mallory\r\nEND:VCARD\r\nBEGIN:VCARD"),
        VCardProperty("X-EVIL:\r\nEMAIL", "x", params=[VCardParam("X;A", ["a\r\nTEL:1"])], group="g:\n"),
        VCardProperty("END", "VCARD"),
    ])
    text = vcard_serialize(card)
    assert _unfolded(text)[0] == "BEGIN:VCARD"
    card_lines = [line for line in _unfolded(text) if line.upper().startswith(("BEGIN", "END"))]
    assert card_lines == ["BEGIN:VCARD", "END:VCARD"]
    reread = vcard_parse(text)
    assert [prop.name for prop in reread.properties] == ["VERSION", "FN", "X-EVIL---EMAIL"]
    assert reread.all("FN")[0].value == "Mallory\\nEND:VCARD\\nBEGIN:VCARD"
    assert reread.problems == []


def test_serialized_lines_are_crlf_and_at_most_75_octets() -> None:
    card = VCard(properties=[VCardProperty("VERSION", "4.0"), VCardProperty("FN", "Ünïcödé " * 40),
                             VCardProperty("PHOTO", "data:image/jpeg;base64," + "QUJD" * 200)])
    text = vcard_serialize(card)
    assert text.endswith("END:VCARD\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert max(len(line.encode()) for line in text.split("\r\n")) <= 75


# --- value helpers -----------------------------------------------------------------------------------------

def test_value_unescape() -> None:
    assert value_unescape(r"a\nb\Nc\,d\;e\\f\:g\x") == "a\nb\nc,d;e\\f\\:g\\x"
    assert value_unescape("trailing\\") == "trailing\\"
    assert value_unescape("plain") == "plain"


def test_value_escape() -> None:
    assert value_escape("a\\b,c;d\r\ne\nf\rg") == "a\\\\b\\,c;d\\ne\\nf\\ng"
    assert value_escape("a;b", structured=True) == "a\\;b"


def test_value_split_respects_escapes_and_escaped_backslashes() -> None:
    assert value_split(r"a\;b;c\\;d", ";") == [r"a\;b", "c\\\\", "d"]
    assert value_split("", ",") == [""]
    assert value_split(";;", ";") == ["", "", ""]


def test_value_components_of_n_and_adr() -> None:
    assert value_components(r"Stevenson;John;Philip,Paul;Dr.;Jr.,M.D.,A.C.P.") == [
        ["Stevenson"], ["John"], ["Philip", "Paul"], ["Dr."], ["Jr.", "M.D.", "A.C.P."]]
    assert value_components(r";;123 Main Street\, Apt 4\;B;Any Town;CA;91921-1234;U.S.A.") == [
        [""], [""], ["123 Main Street, Apt 4;B"], ["Any Town"], ["CA"], ["91921-1234"], ["U.S.A."]]


def test_value_components_join_inverts_components() -> None:
    components = [["Liddell"], ["Alice", "Pleasance"], [""], ["a;b,c\\d\ne"]]
    assert value_components(value_components_join(components)) == components
    assert value_components_join([[]]) == ""


def test_name_valid() -> None:
    assert name_valid("X-ABLabel") and name_valid("item1")
    assert not name_valid("") and not name_valid("a.b") and not name_valid("X Y") and not name_valid("É")
