"""Nothing is lost: vCardProps, vCardParams, groups and Apple labels (RFC 9555 §3.3, §3.4)."""
from __future__ import annotations

from jmapcore.contacts.jscontact import card_read, card_write
from tests.jmapcore.contacts.jscontact.vcards import content_lines, vcard


def test_unknown_properties_keep_group_params_and_raw_value() -> None:
    card = card_read(vcard("FN:A", "item5.X-MS-OL-DESIGN;CHARSET=utf-8;X-A=1,2:<card xmlns\\;x>",
                           "X-EVOLUTION-FILE-AS:Liddell\\, Alice")).card
    assert card["vCardProps"] == [
        ["x-ms-ol-design", {"group": "item5", "x-a": ["1", "2"]}, "unknown", "<card xmlns\\;x>"],
        ["x-evolution-file-as", {}, "unknown", "Liddell\\, Alice"]]
    lines = content_lines(card_write(card, previous_text=None, version="4.0"))
    assert "item5.X-MS-OL-DESIGN;X-A=1,2:<card xmlns\\;x>" in lines
    assert "X-EVOLUTION-FILE-AS:Liddell\\, Alice" in lines


def test_unknown_parameters_of_converted_properties_are_vcard_params() -> None:
    card = card_read(vcard("FN:A", "EMAIL;TYPE=work,x-other;X-SERVICE=mail;LABEL=Office:a@example.com")).card
    assert card["emails"]["e1"]["vCardParams"] == {"type": "x-other", "x-service": "mail", "label": "Office"}
    line = next(line for line in content_lines(card_write(card, previous_text=None, version="4.0"))
                if line.startswith("EMAIL"))
    assert line == "EMAIL;TYPE=work,x-other;X-SERVICE=mail;LABEL=Office:a@example.com"


def test_apple_labels_become_label_and_keep_their_group() -> None:
    text = vcard("FN:A", "item1.TEL:+1 555 0100", "item1.X-ABLabel:Summer house",
                 "item2.EMAIL;type=INTERNET:a@example.com", "item2.X-ABLabel:_$!<Other>!$_", version="3.0")
    card = card_read(text).card
    assert card["phones"]["p1"]["label"] == "Summer house"
    assert card["emails"]["e1"]["label"] == "_$!<Other>!$_"
    assert "vCardProps" not in card
    lines = content_lines(card_write(card, previous_text=None, version="3.0"))
    assert "item1.TEL:+1 555 0100" in lines and "item1.X-ABLabel:Summer house" in lines


def test_a_new_label_gets_a_fresh_group() -> None:
    card = {"uid": "u", "name": {"full": "A"},
            "emails": {"e1": {"address": "a@example.com", "label": "school"}},
            "vCardProps": [["x-abadr", {"group": "item1"}, "unknown", "us"]]}
    lines = content_lines(card_write(card, previous_text=None, version="3.0"))
    assert "item2.EMAIL:a@example.com" in lines and "item2.X-ABLabel:school" in lines
    assert card_read(card_write(card, previous_text=None, version="3.0")).card["emails"]["e1"]["label"] == "school"


def test_an_orphan_label_is_kept() -> None:
    card = card_read(vcard("FN:A", "item9.X-ABLabel:nobody", version="3.0")).card
    assert card["vCardProps"] == [["x-ablabel", {"group": "item9"}, "unknown", "nobody"]]


def test_jsprop_carries_jscontact_properties_without_a_vcard_property() -> None:
    text = vcard("FN:A", 'JSPROP;JSPTR="example.com:foo":"bar"',
                 'JSPROP;JSPTR="localizations/fr/titles~1t1~1name":"Responsable"')
    card = card_read(text).card
    assert card["example.com:foo"] == "bar"
    # a pointer into the card makes what it points into (the localization's PatchObject)
    assert card["localizations"] == {"fr": {"titles/t1/name": "Responsable"}}
    assert "vCardProps" not in card
    card["example.com:bar"] = {"list": [1, "x;y,z"], "on": True}
    written = card_write(card, previous_text=text, version="4.0")
    assert content_lines(written)[:-1] == content_lines(text)
    assert content_lines(written)[-1] == 'JSPROP;JSPTR="example.com:bar":{"list": [1\\, "x;y\\,z"]\\, "on": true}'
    assert card_read(written).card["example.com:bar"] == {"list": [1, "x;y,z"], "on": True}


def test_members_a_vcard_property_cannot_carry_go_to_jsprops() -> None:
    card = {"uid": "u", "name": {"full": "A", "isOrdered": True},
            "emails": {"e1": {"address": "a@example.com", "pref": 3, "example.com:v": 1}},
            "phones": {"p1": {"number": "1", "features": {"mobile": True, "x-satellite": True}}},
            "speakToAs": {"example.com:y": 2}}
    written = card_write(card, previous_text=None, version="3.0")
    assert {"JSPROP;JSPTR=name/isOrdered:true", "JSPROP;JSPTR=emails/e1/pref:3",
            "JSPROP;JSPTR=phones/p1/features/x-satellite:true"} <= set(content_lines(written))
    again = card_read(written)
    assert again.problems == []
    assert {key: value for key, value in again.card.items() if key not in ("@type", "version")} == card
    # a one-field change keeps them: they belong to their entry
    again.card["emails"]["e1"]["address"] = "b@example.com"
    rewritten = card_write(again.card, previous_text=written, version="3.0")
    assert [line for line in content_lines(rewritten) if line not in content_lines(written)] == ["EMAIL:b@example.com"]


def test_jsprops_that_do_not_fit_are_kept_as_they_are() -> None:
    text = vcard("FN:A", "EMAIL:a@example.com", 'JSPROP;JSPTR=emails/e1/pref:"high"',
                 'JSPROP;JSPTR=emails/e1/address:"b@example.com"', "JSPROP;JSPTR=emails/e9/x:1",
                 "JSPROP;JSPTR=emails/e1:{}")
    reading = card_read(text)
    assert reading.card["emails"] == {"e1": {"address": "a@example.com"}}
    assert sorted(entry[1]["jsptr"] for entry in reading.card["vCardProps"]) == [
        "emails/e1", "emails/e1/address", "emails/e1/pref", "emails/e9/x"]
    assert any("emails/e1/pref" in problem for problem in reading.problems)
    assert card_write(reading.card, previous_text=text, version="4.0") == text


def test_a_jsprop_without_json_is_kept_and_reported() -> None:
    reading = card_read(vcard("FN:A", 'JSPROP;JSPTR="example.com:foo":not json'))
    assert "example.com:foo" not in reading.card and reading.card["vCardProps"][0][0] == "jsprop"
    assert any("JSPROP" in problem for problem in reading.problems)
