"""EMAIL, TEL, IMPP, SOCIALPROFILE, URL ↔ emails, phones, onlineServices, links (RFC 9555 §2.3, §2.6)."""
from __future__ import annotations

from jmapcore.contacts.jscontact import card_read, card_write
from tests.jmapcore.contacts.jscontact.vcards import content_lines, vcard


def test_email_contexts_pref_and_prop_id() -> None:
    card = card_read(vcard("FN:A", "EMAIL;TYPE=work;PREF=1:alice@work.example",
                           "EMAIL;PROP-ID=home;TYPE=home:alice@home.example")).card
    assert card["emails"] == {
        "e1": {"address": "alice@work.example", "contexts": {"work": True}, "pref": 1},
        "home": {"address": "alice@home.example", "contexts": {"private": True}}}


def test_3_0_type_pref_is_pref_1_and_written_back_as_type_pref() -> None:
    card = card_read(vcard("FN:A", "EMAIL;TYPE=INTERNET,HOME,PREF:alice@home.example", version="3.0")).card
    email = card["emails"]["e1"]
    assert email["pref"] == 1 and email["contexts"] == {"private": True}
    assert email["vCardParams"] == {"type": "INTERNET"}
    lines = content_lines(card_write(card, previous_text=None, version="3.0"))
    assert "EMAIL;TYPE=home,INTERNET,pref:alice@home.example" in lines
    lines4 = content_lines(card_write(card, previous_text=None, version="4.0"))
    assert "EMAIL;TYPE=home,INTERNET;PREF=1:alice@home.example" in lines4


def test_phone_features_and_uri_value() -> None:
    card = card_read(vcard("FN:A", "TEL;VALUE=uri;TYPE=cell,text,home:tel:+1-555-555-5555;ext=5555",
                           "TEL;TYPE=work,fax:+1 555 0100")).card
    assert card["phones"]["p1"]["number"] == "tel:+1-555-555-5555;ext=5555"
    assert card["phones"]["p1"]["features"] == {"mobile": True, "text": True}
    assert card["phones"]["p1"]["contexts"] == {"private": True}
    assert card["phones"]["p2"]["features"] == {"fax": True}
    again = card_read(card_write(card, previous_text=None, version="4.0")).card
    assert again["phones"] == card["phones"]


def test_impp_and_social_profiles_are_online_services() -> None:
    card = card_read(vcard("FN:A", "IMPP;SERVICE-TYPE=XMPP;PREF=1:xmpp:alice@example.com",
                           "SOCIALPROFILE;SERVICE-TYPE=Mastodon:https://example.com/@alice",
                           "SOCIALPROFILE;VALUE=text;SERVICE-TYPE=Bluesky:alice")).card
    services = card["onlineServices"]
    assert services["s1"] == {"uri": "xmpp:alice@example.com", "vCardName": "impp", "service": "XMPP", "pref": 1}
    assert services["s2"] == {"uri": "https://example.com/@alice", "service": "Mastodon"}
    assert services["s3"] == {"user": "alice", "service": "Bluesky"}
    assert card_read(card_write(card, previous_text=None, version="4.0")).card["onlineServices"] == services


def test_apple_x_socialprofile_and_impp_in_3_0() -> None:
    card = card_read(vcard("FN:A", "X-SOCIALPROFILE;type=twitter;x-user=alice:https://twitter.com/alice",
                           "IMPP;X-SERVICE-TYPE=Skype;type=HOME:skype:alice", version="3.0")).card
    services = card["onlineServices"]
    assert services["s1"]["service"] == "twitter" and services["s1"]["user"] == "alice"
    assert services["s2"]["service"] == "Skype" and services["s2"]["contexts"] == {"private": True}
    again = card_read(card_write(card, previous_text=None, version="3.0")).card
    assert again["onlineServices"] == services


def test_urls_and_contact_uri_are_links_with_labels() -> None:
    card = card_read(vcard("FN:A", "item1.URL:https://alice.example", "item1.X-ABLabel:blog",
                           "CONTACT-URI:mailto:contact@example.com", version="4.0")).card
    assert card["links"]["l1"]["uri"] == "https://alice.example" and card["links"]["l1"]["label"] == "blog"
    assert card["links"]["l2"] == {"uri": "mailto:contact@example.com", "kind": "contact"}
    assert "vCardProps" not in card


def test_one_label_in_a_shared_group_stays_with_its_property() -> None:
    """item1.TEL and item1.EMAIL share one X-ABLabel: written afresh and read
    again, the label is where it was read, not on both (found by hypothesis)."""
    text = ("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada\r\nitem1.TEL:+44 20 7946 0000\r\n"
            "item1.EMAIL:ada@example.org\r\nitem1.X-ABLabel:_$!<Anniversary>!$_\r\nEND:VCARD\r\n")
    first = card_read(text).card
    again = card_read(card_write(first, previous_text=None, version="4.0")).card
    labels = {(kind, entry.get("label")) for kind in ("phones", "emails") for entry in again.get(kind, {}).values()}
    assert labels == {(kind, entry.get("label")) for kind in ("phones", "emails")
                      for entry in first.get(kind, {}).values()}
