"""FN, N, NICKNAME and phonetics ↔ name / nicknames (RFC 9555 §2.3, RFC 9554 §3.2, Apple X-PHONETIC-*)."""
from __future__ import annotations

from jmapcore.contacts.jscontact import card_read, card_write
from tests.jmapcore.contacts.jscontact.vcards import content_lines, vcard


def test_n_components_in_name_order_with_sort_as() -> None:
    card = card_read(vcard("FN:Mr. John Q. Public\\, Esq.",
                           'N;SORT-AS="Public,John":Public;John;Quinlan;Mr.;Esq.')).card
    assert card["name"]["full"] == "Mr. John Q. Public, Esq."
    assert card["name"]["components"] == [
        {"kind": "title", "value": "Mr."}, {"kind": "given", "value": "John"},
        {"kind": "given2", "value": "Quinlan"}, {"kind": "surname", "value": "Public"},
        {"kind": "credential", "value": "Esq."}]
    assert card["name"]["sortAs"] == {"surname": "Public", "given": "John"}


def test_n_with_several_values_and_rfc_9554_components() -> None:
    card = card_read(vcard("FN:Jane Doe", "N:Doe;Jane,Mary;;;;García;III")).card
    kinds = [(c["kind"], c["value"]) for c in card["name"]["components"]]
    assert kinds == [("given", "Jane"), ("given", "Mary"), ("surname", "Doe"), ("surname2", "García"),
                     ("generation", "III")]
    written = card_write(card, previous_text=None, version="4.0")
    assert "N:Doe;Jane,Mary;;;;García;III" in content_lines(written)


def test_apple_phonetic_names_become_component_phonetics_and_back() -> None:
    text = vcard("N:Yamada;Taro;;;", "FN:Yamada Taro", "X-PHONETIC-FIRST-NAME:たろう",
                 "X-PHONETIC-LAST-NAME:やまだ", version="3.0")
    card = card_read(text).card
    phonetic = {c["kind"]: c.get("phonetic") for c in card["name"]["components"]}
    assert phonetic == {"given": "たろう", "surname": "やまだ"}
    assert "vCardProps" not in card
    lines = content_lines(card_write(card, previous_text=None, version="3.0"))
    assert "X-PHONETIC-FIRST-NAME:たろう" in lines and "X-PHONETIC-LAST-NAME:やまだ" in lines


def test_rfc_9554_phonetic_n_with_altid() -> None:
    text = vcard("FN:Zhang San", "N;ALTID=1:Zhang;San;;;", "N;ALTID=1;PHONETIC=piny;SCRIPT=Latn:Zhāng;Sān;;;")
    name = card_read(text).card["name"]
    assert name["phoneticSystem"] == "piny" and name["phoneticScript"] == "Latn"
    assert {c["kind"]: c["phonetic"] for c in name["components"]} == {"given": "Sān", "surname": "Zhāng"}
    again = card_read(card_write(card_read(text).card, previous_text=None, version="4.0")).card
    assert again["name"] == name


def test_nicknames_from_a_list_and_written_one_per_line() -> None:
    card = card_read(vcard("FN:Robert", "NICKNAME;TYPE=work:Bob,Bobby")).card
    assert list(card["nicknames"].values()) == [{"name": "Bob", "contexts": {"work": True}},
                                                {"name": "Bobby", "contexts": {"work": True}}]
    again = card_read(card_write(card, previous_text=None, version="4.0")).card
    assert again["nicknames"] == card["nicknames"]


def test_fn_is_made_when_the_card_has_only_components() -> None:
    card = {"@type": "Card", "version": "1.0", "uid": "u1",
            "name": {"components": [{"kind": "given", "value": "Alice"}, {"kind": "surname", "value": "Liddell"}]}}
    lines = content_lines(card_write(card, previous_text=None, version="3.0"))
    assert "FN:Alice Liddell" in lines and "N:Liddell;Alice;;;" in lines
