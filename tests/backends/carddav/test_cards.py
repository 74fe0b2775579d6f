"""A vCard resource as ContactCard columns (backends.carddav.cards): whatever the
server holds, the sync gets a row to cache, with its problems."""
from __future__ import annotations

from backends.carddav.cards import card_columns, uid_for_href

HREF = "https://dav.example.test/alice/contacts/x.vcf"


def test_a_card_without_uid_gets_a_stable_one_from_its_href() -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Uid\r\nEND:VCARD\r\n"
    first = card_columns(text=text, href=HREF)
    again = card_columns(text=text, href=HREF)
    assert first.uid == again.uid == uid_for_href(HREF)
    assert first.uid.startswith("urn:uuid:") and first.card["uid"] == first.uid
    assert first.fields["uid"] == first.uid
    assert card_columns(text=text, href=HREF + "2").uid != first.uid


def test_bad_folding_and_a_missing_fn_are_reported_and_the_rest_is_kept() -> None:
    text = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:broken\r\nN:Nameless;Nora;;;\r\nEMAIL:nora@example.test\r\n"
            "NOTE:first line\r\nnot folded properly\r\nEND:VCARD\r\n")
    columns = card_columns(text=text, href=HREF)
    assert columns.uid == "broken"
    assert len(columns.problems) >= 2
    assert "nora@example.test" in columns.fields["search_email"]


def test_text_that_is_no_vcard_at_all_still_gives_a_row() -> None:
    columns = card_columns(text="<html>502 Bad Gateway</html>", href=HREF)
    assert columns.problems
    assert columns.card["@type"] == "Card" and columns.uid == uid_for_href(HREF)
    assert columns.fields["kind"]
