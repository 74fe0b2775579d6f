"""The whole vCard corpus at the syntax level (issue 10, item 2).

Every file of corpus/ (see corpus/INDEX.md for where each comes from) parses
without a problem and, untouched, is written back line for line: the same
logical lines once line ends and folding are normalised (and the blank line
vCard 2.1 puts after base64 dropped). Every file of corpus/broken/ parses too,
and each carries the problems that say what was wrong with it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from jmapcore.contacts.jscontact import card_read
from jmapcore.contacts.jscontact.vcard_model import VCard
from jmapcore.contacts.jscontact.vcard_syntax import value_components, vcard_parse, vcard_serialize, vcards_parse

CORPUS = Path(__file__).resolve().parent / "corpus"
WELL_FORMED = sorted(path.name for path in CORPUS.glob("*.vcf"))
BROKEN = sorted(path.name for path in (CORPUS / "broken").glob("*.vcf"))


def _text(path: Path) -> str:
    # Bytes that are not UTF-8 (binary_junk.vcf) arrive as U+FFFD, the way a
    # CardDAV body is decoded before it reaches the parser.
    return path.read_bytes().decode("utf-8", "replace")


def _logical_lines(text: str) -> list[str]:
    unfolded = text.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    return [line for line in unfolded.split("\n") if line.strip()]


def _problems_containing(card: VCard, *needles: str) -> None:
    for needle in needles:
        assert any(needle in problem for problem in card.problems), (needle, card.problems)


def test_corpus_has_every_client_several_times() -> None:
    index = (CORPUS / "INDEX.md").read_text()
    for client in ("apple", "google", "outlook", "thunderbird", "nextcloud", "davx5", "rfc6350", "rfc9555"):
        files = [name for name in WELL_FORMED if name.startswith(client)]
        assert len(files) >= (2 if client.startswith("rfc") else 3), client
    for name in WELL_FORMED + [f"broken/{name}" for name in BROKEN]:
        assert Path(name).name in index, f"{name} is not listed in corpus/INDEX.md"
    assert len(WELL_FORMED) >= 25


@pytest.mark.parametrize("name", WELL_FORMED)
def test_well_formed_card_reads_without_problems_and_round_trips(name: str) -> None:
    text = _text(CORPUS / name)
    cards = vcards_parse(text)
    assert len(cards) == 1
    card = cards[0]
    assert card.problems == []
    assert card.version in ("2.1", "3.0", "4.0")
    assert card.all("FN") or card.version == "2.1"
    assert _logical_lines(vcard_serialize(card)) == _logical_lines(text)


@pytest.mark.parametrize("name", WELL_FORMED)
def test_well_formed_card_round_trips_from_fields_too(name: str) -> None:
    # Written from the parsed fields instead of `raw` (what a converter does
    # for a property it changed), every property reads back the same.
    card = vcard_parse(_text(CORPUS / name))
    for prop in card.properties:
        prop.raw = None
    again = vcard_parse(vcard_serialize(card))
    assert again.problems == []
    for prop in again.properties:
        prop.raw = None
    assert again.properties == card.properties


def test_apple_groups_and_labels_are_kept_apart() -> None:
    card = vcard_parse(_text(CORPUS / "apple_person_full.vcf"))
    labels = {prop.group: prop.value for prop in card.all("X-ABLABEL")}
    assert labels["item1"] == "_$!<Other>!$_"
    assert [prop.group for prop in card.all("X-ABRELATEDNAMES")] == ["item7", "item8", "item9"]
    assert card.all("PHOTO")[0].param("ENCODING") == ["b"]
    assert card.all("PHOTO")[0].value.startswith("/9j/")


def test_outlook_quoted_printable_windows_1252_is_decoded() -> None:
    card = vcard_parse(_text(CORPUS / "outlook_german_qp.vcf"))
    assert value_components(card.all("N")[0].value)[:2] == [["Müller"], ["Jürgen"]]
    assert card.all("NOTE")[0].value.endswith("Bitte „Kundennummer 4711“ angeben.")
    assert "\\nAnsprechpartner für Großbestellungen" in card.all("NOTE")[0].value
    assert card.all("ADR")[0].params[0].values == ["WORK"]


def test_outlook_base64_photo_is_one_value() -> None:
    card = vcard_parse(_text(CORPUS / "outlook_business.vcf"))
    photo = card.all("PHOTO")[0]
    assert photo.value.startswith("/9j/") and " " not in photo.value
    assert card.all("LABEL")[0].value == "One Contoso Way\\nRedmond, WA 98052\\nUnited States of America"


def test_rfc6350_author_unfolds_the_rfc_way() -> None:
    card = vcard_parse(_text(CORPUS / "rfc6350_author.vcf"))
    assert card.all("ADR")[0].value == ";Suite D2-630;2875 Laurier;Quebec;QC;G1V 2M2;Canada"
    assert card.all("TEL")[1].param("TYPE") == ["work,cell,voice,video,text"]
    assert card.all("KEY")[0].value == "http://www.viagenie.ca/simon.perreault/simon.asc"


@pytest.mark.parametrize("name", BROKEN)
def test_broken_card_parses_and_records_problems(name: str) -> None:
    text = _text(CORPUS / "broken" / name)
    cards = vcards_parse(text)
    card = vcard_parse(text)
    assert cards and card.properties
    assert card.all("FN") or card.all("N")  # the name survives whatever else broke
    if name == "invalid_dates.vcf":
        # Well-formed lines: the dates are the conversion's to report.
        assert card.problems == []
        assert [prop.value for prop in card.all("BDAY")] == ["1985-13-45"]
        problems = card_read(text).problems
        for date_property in ("BDAY", "ANNIVERSARY", "DEATHDATE", "REV"):
            assert any(problem.startswith(date_property) for problem in problems), (date_property, problems)
    else:
        assert card.problems
    assert vcards_parse(vcard_serialize(card))  # what was read can be written and read again


def test_broken_cards_say_what_is_wrong() -> None:
    def read(name: str) -> VCard:
        return vcard_parse(_text(CORPUS / "broken" / name))

    bad_folding = read("bad_folding.vcf")
    _problems_containing(bad_folding, "line 6: not a property", "line 9: not a property")
    assert bad_folding.all("NOTE")[0].value.endswith("second eve\\nning; the orchids only on Sundays.")
    _problems_containing(read("unknown_encoding.vcf"), "unknown ENCODING='UUENCODE'", "unknown ENCODING='X-ROT13'")
    _problems_containing(read("missing_fn.vcf"), "no FN")
    missing_end = read("missing_end.vcf")
    _problems_containing(missing_end, "no END:VCARD")
    assert missing_end.all("NOTE")[0].value == "The writer crashed before END:VCARD\\, here"
    junk = read("binary_junk.vcf")
    _problems_containing(junk, "not a property")
    assert junk.all("EMAIL")[0].value.startswith("jenny@junk.example")
    huge = read("huge_photo.vcf")
    _problems_containing(huge, "PHOTO is", "over 1 MiB")
    assert len(huge.all("PHOTO")[0].value) > 2_000_000
    assert huge.all("EMAIL")[0].value == "hugo@huge.example"
    mixed = read("crlf_lf_mix.vcf")
    _problems_containing(mixed, "mixes CRLF")
    assert mixed.all("NOTE")[0].value == "Edited on Windows\\, then on Linux."
    _problems_containing(read("unclosed_quote.vcf"), "without its closing quote")
    qp = read("bad_quoted_printable.vcf")
    _problems_containing(qp, "unknown CHARSET='X-KLINGON'", "FN is not valid UTF-8")
    assert qp.all("N")[0].value == "Qäpla;Kahless"
    two = vcards_parse(_text(CORPUS / "broken" / "two_begins.vcf"))
    assert [card.all("FN")[0].value for card in two] == ["First Half", "Second Card"]
    _problems_containing(two[0], "BEGIN:VCARD before the END:VCARD")
    _problems_containing(two[1], "END:VCARD without BEGIN:VCARD", "'stray trailer text'")
