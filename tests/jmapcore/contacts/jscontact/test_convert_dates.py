"""BDAY, ANNIVERSARY, DEATHDATE, X-ABDATE, REV, CREATED ↔ anniversaries, updated, created (RFC 9555 §2.5)."""
from __future__ import annotations

from jmapcore.contacts.jscontact import card_read, card_write
from jmapcore.contacts.jscontact.dates import partial_date, utc_timestamp
from tests.jmapcore.contacts.jscontact.vcards import content_lines, vcard


def test_partial_dates_of_every_form() -> None:
    assert partial_date("19850412") == {"@type": "PartialDate", "year": 1985, "month": 4, "day": 12}
    assert partial_date("1985-04-12") == {"@type": "PartialDate", "year": 1985, "month": 4, "day": 12}
    assert partial_date("--0412") == {"@type": "PartialDate", "month": 4, "day": 12}
    assert partial_date("--04-12") == {"@type": "PartialDate", "month": 4, "day": 12}
    assert partial_date("1985-04") == {"@type": "PartialDate", "year": 1985, "month": 4}
    assert partial_date("1985") == {"@type": "PartialDate", "year": 1985}
    assert partial_date("---12") == {"@type": "PartialDate", "day": 12}
    for bad in ("1985-13-01", "1985-02-30", "yesterday", "", "--1301"):
        assert partial_date(bad) is None, bad


def test_timestamps() -> None:
    assert utc_timestamp("20231012T101500Z") == "2023-10-12T10:15:00Z"
    assert utc_timestamp("2023-10-12T10:15:00Z") == "2023-10-12T10:15:00Z"
    assert utc_timestamp("2023-10-12T12:15:00+02:00") == "2023-10-12T10:15:00Z"
    assert utc_timestamp("2023-10-12") is None
    assert utc_timestamp("20231012T251500Z") is None


def test_birthday_without_year_in_4_0_and_3_0() -> None:
    four = card_read(vcard("FN:A", "BDAY:--0412")).card["anniversaries"]["d1"]
    apple = card_read(vcard("FN:A", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12", version="3.0")).card
    google = card_read(vcard("FN:A", "BDAY:--04-12", version="3.0")).card
    expected = {"kind": "birth", "date": {"@type": "PartialDate", "month": 4, "day": 12}}
    assert four == expected
    assert apple["anniversaries"]["d1"] == expected and google["anniversaries"]["d1"] == expected
    assert "BDAY:--0412" in content_lines(card_write({"anniversaries": {"d1": four}}, previous_text=None,
                                                      version="4.0"))
    lines3 = content_lines(card_write({"anniversaries": {"d1": four}}, previous_text=None, version="3.0"))
    assert "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12" in lines3


def test_anniversary_death_and_apple_anniversary() -> None:
    card = card_read(vcard("FN:A", "ANNIVERSARY:20090808T143000Z", "DEATHDATE:20200101")).card
    assert card["anniversaries"]["d1"] == {"kind": "wedding",
                                           "date": {"@type": "Timestamp", "utc": "2009-08-08T14:30:00Z"}}
    assert card["anniversaries"]["d2"]["kind"] == "death"
    apple = card_read(vcard("FN:A", "item1.X-ABDATE:2010-06-01", "item1.X-ABLabel:_$!<Anniversary>!$_",
                            "item2.X-ABDATE:2015-01-01", "item2.X-ABLabel:First met", version="3.0")).card
    assert apple["anniversaries"]["d1"]["kind"] == "wedding"
    assert apple["anniversaries"]["d1"]["date"] == {"@type": "PartialDate", "year": 2010, "month": 6, "day": 1}
    # Another Apple date has no JSContact kind: it is kept as it is, with its label
    assert ["x-abdate", {"group": "item2"}, "unknown", "2015-01-01"] in apple["vCardProps"]
    assert ["x-ablabel", {"group": "item2"}, "unknown", "First met"] in apple["vCardProps"]
    lines = content_lines(card_write(apple, previous_text=None, version="3.0"))
    assert "item1.X-ABDATE:2010-06-01" in lines and "item1.X-ABLabel:_$!<Anniversary>!$_" in lines
    assert "item2.X-ABDATE:2015-01-01" in lines and "item2.X-ABLabel:First met" in lines


def test_an_invalid_birthday_is_kept_and_reported() -> None:
    reading = card_read(vcard("FN:A", "BDAY:1985-02-30", version="3.0"))
    assert "anniversaries" not in reading.card
    assert reading.card["vCardProps"] == [["bday", {}, "unknown", "1985-02-30"]]
    assert any("BDAY" in problem for problem in reading.problems)
    text_bday = card_read(vcard("FN:A", "BDAY;VALUE=text:circa 1800"))
    assert text_bday.card["vCardProps"] == [["bday", {"value": "text"}, "unknown", "circa 1800"]]


def test_rev_and_created() -> None:
    card = card_read(vcard("FN:A", "REV:20231012T101500Z", "CREATED:20200101T000000Z")).card
    assert card["updated"] == "2023-10-12T10:15:00Z" and card["created"] == "2020-01-01T00:00:00Z"
    lines = content_lines(card_write(card, previous_text=None, version="4.0"))
    assert "REV:20231012T101500Z" in lines and "CREATED:20200101T000000Z" in lines
