"""NOTE, CATEGORIES, LANG, GENDER/GRAMGENDER/PRONOUNS, EXPERTISE/HOBBY/INTEREST, ORG/TITLE/ROLE,
LANGUAGE, PRODID, SOURCE/CALURI/FBURL/CALADRURI (RFC 9555 §2.3-§2.8, RFC 9554)."""
from __future__ import annotations

import pytest

from jmapcore.contacts.jscontact import card_read, card_write
from tests.jmapcore.contacts.jscontact.vcards import content_lines, vcard


def test_notes_with_author_and_created() -> None:
    card = card_read(vcard("FN:A", 'NOTE;CREATED=20221123T150132Z;AUTHOR-NAME="Bob":Met at the\\nconference')).card
    assert card["notes"]["n1"] == {"note": "Met at the\nconference", "created": "2022-11-23T15:01:32Z",
                                   "author": {"name": "Bob"}}


def test_categories_are_keywords() -> None:
    card = card_read(vcard("FN:A", "CATEGORIES:Friends,Climbing\\, indoor", "CATEGORIES:Work")).card
    assert card["keywords"] == {"Friends": True, "Climbing, indoor": True, "Work": True}
    again = card_read(card_write(card, previous_text=None, version="4.0")).card
    assert again["keywords"] == card["keywords"]


def test_languages_gender_and_pronouns() -> None:
    card = card_read(vcard("FN:A", "LANG;TYPE=work;PREF=1:en", "LANG;TYPE=home:fr", "GENDER:F",
                           "PRONOUNS;PREF=1:she/her")).card
    assert card["preferredLanguages"]["lang1"] == {"language": "en", "contexts": {"work": True}, "pref": 1}
    assert card["preferredLanguages"]["lang2"] == {"language": "fr", "contexts": {"private": True}}
    assert card["speakToAs"]["grammaticalGender"] == "feminine"
    assert card["speakToAs"]["pronouns"]["pr1"] == {"pronouns": "she/her", "pref": 1}
    lines = content_lines(card_write(card, previous_text=None, version="4.0"))
    assert "GENDER:F" in lines and "PRONOUNS;PREF=1:she/her" in lines


def test_a_gender_that_says_more_is_kept_as_it_is() -> None:
    card = card_read(vcard("FN:A", "GENDER:O;non-binary")).card
    assert "speakToAs" not in card
    assert card["vCardProps"] == [["gender", {}, "unknown", "O;non-binary"]]
    assert "GENDER:O;non-binary" in content_lines(card_write(card, previous_text=None, version="4.0"))


def test_organizations_titles_roles() -> None:
    card = card_read(vcard("FN:A", "ORG;SORT-AS=ABC:ABC\\, Inc.;North American Division;Marketing",
                           "TITLE:Research Scientist", "ROLE:Project Leader")).card
    assert card["organizations"]["o1"] == {"name": "ABC, Inc.", "sortAs": "ABC",
                                           "units": [{"name": "North American Division"}, {"name": "Marketing"}]}
    assert card["titles"] == {"t1": {"name": "Research Scientist", "kind": "title"},
                              "t2": {"name": "Project Leader", "kind": "role"}}
    again = card_read(card_write(card, previous_text=None, version="4.0")).card
    assert again["organizations"] == card["organizations"] and again["titles"] == card["titles"]


def test_personal_info_directories_calendars() -> None:
    card = card_read(vcard("FN:A", "EXPERTISE;LEVEL=expert:chemistry", "HOBBY;LEVEL=high:reading",
                           "SOURCE:https://directory.example/alice.vcf", "FBURL:https://cal.example/fb/alice",
                           "CALURI:https://cal.example/alice", "CALADRURI:mailto:alice@example.com",
                           "LANGUAGE:de", "PRODID:-//Example//EN")).card
    assert card["personalInfo"]["pi1"] == {"kind": "expertise", "value": "chemistry", "level": "high"}
    assert card["personalInfo"]["pi2"] == {"kind": "hobby", "value": "reading", "level": "high"}
    assert card["directories"]["dir1"] == {"uri": "https://directory.example/alice.vcf", "kind": "entry"}
    assert card["calendars"]["cal1"]["kind"] == "freeBusy" and card["calendars"]["cal2"]["kind"] == "calendar"
    assert card["schedulingAddresses"]["sch1"] == {"uri": "mailto:alice@example.com"}
    assert card["language"] == "de" and card["prodId"] == "-//Example//EN"
    again = card_read(card_write(card, previous_text=None, version="4.0")).card
    assert again == card


@pytest.mark.parametrize("raw", ["en", "de-CH", "\\\\\\", "en\\", "a\\,b"])
@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_a_lang_value_comes_back_as_it_was_read(raw: str, version: str) -> None:
    """LANG is read unescaped, so it is written escaped (found by hypothesis: backslashes)."""
    first = card_read(f"BEGIN:VCARD\r\nVERSION:{version}\r\nFN:A\r\nLANG:{raw}\r\nEND:VCARD\r\n")
    again = card_read(card_write(first.card, previous_text=None, version=version))
    assert again.card["preferredLanguages"] == first.card["preferredLanguages"]
