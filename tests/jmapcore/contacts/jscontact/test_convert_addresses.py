"""ADR, GEO, TZ ↔ addresses (RFC 9555 §2.2, RFC 9554 §2.1)."""
from __future__ import annotations

from jmapcore.contacts.jscontact import card_read, card_write
from tests.jmapcore.contacts.jscontact.vcards import content_lines, vcard


def test_adr_components_label_geo_tz_cc() -> None:
    text = vcard('ADR;TYPE=work;LABEL="54321 Oak St\\nReston\\nVA 20190\\nUSA";GEO="geo:38.9,-77.3";'
                 'TZ=America/New_York;CC=US:;;54321 Oak St;Reston;VA;20190;USA', "FN:A")
    address = card_read(text).card["addresses"]["a1"]
    assert address["components"] == [
        {"kind": "name", "value": "54321 Oak St"}, {"kind": "locality", "value": "Reston"},
        {"kind": "region", "value": "VA"}, {"kind": "postcode", "value": "20190"},
        {"kind": "country", "value": "USA"}]
    assert address["contexts"] == {"work": True}
    assert address["coordinates"] == "geo:38.9,-77.3"
    assert address["timeZone"] == "America/New_York" and address["countryCode"] == "US"
    assert address["full"].startswith("54321 Oak St")
    again = card_read(card_write(card_read(text).card, previous_text=None, version="4.0")).card
    assert again["addresses"]["a1"] == address


def test_post_office_box_and_extended_address() -> None:
    address = card_read(vcard("FN:A", "ADR:PO Box 7;Suite 3;1 Main St;Springfield;;;", version="3.0")) \
        .card["addresses"]["a1"]
    assert [(c["kind"], c["value"]) for c in address["components"]] == [
        ("postOfficeBox", "PO Box 7"), ("apartment", "Suite 3"), ("name", "1 Main St"), ("locality", "Springfield")]
    lines = content_lines(card_write({"addresses": {"a1": address}}, previous_text=None, version="3.0"))
    assert "ADR:PO Box 7;Suite 3;1 Main St;Springfield;;;" in lines


def test_standalone_geo_and_tz_in_both_versions() -> None:
    card = card_read(vcard("FN:A", "GEO:37.386013;-122.082932", "TZ:-05:00", version="3.0")).card
    assert card["addresses"]["a1"] == {"coordinates": "geo:37.386013,-122.082932"}
    assert card["addresses"]["a2"] == {"timeZone": "-05:00"}
    assert "GEO:37.386013;-122.082932" in content_lines(card_write(card, previous_text=None, version="3.0"))
    assert "GEO:geo:37.386013,-122.082932" in content_lines(card_write(card, previous_text=None, version="4.0"))


def test_rfc_9554_components_fold_into_the_street_in_3_0() -> None:
    card = {"addresses": {"a1": {"components": [
        {"kind": "number", "value": "12"}, {"kind": "name", "value": "Main St"},
        {"kind": "locality", "value": "Bern"}]}}}
    assert "ADR:;;12 Main St;Bern;;;" in content_lines(card_write(card, previous_text=None, version="3.0"))
    lines4 = content_lines(card_write(card, previous_text=None, version="4.0"))
    # 4.0: RFC 9554's positions, and the street address as their summary for older readers
    assert "ADR:;;12 Main St;Bern;;;;;;;12;Main St;;;;;;" in lines4
    again = card_read(card_write(card, previous_text=None, version="4.0")).card["addresses"]["a1"]
    assert again["components"] == [{"kind": "locality", "value": "Bern"}, {"kind": "number", "value": "12"},
                                   {"kind": "name", "value": "Main St"}]


def test_a_bad_geo_is_kept_and_reported() -> None:
    reading = card_read(vcard("FN:A", "GEO:somewhere"))
    assert "addresses" not in reading.card
    assert reading.card["vCardProps"] == [["geo", {}, "unknown", "somewhere"]]
    assert any("GEO" in problem for problem in reading.problems)
