"""PHOTO, LOGO, SOUND, KEY ↔ media, cryptoKeys (RFC 9555 §2.6, §2.7): data: URIs, URLs, 3.0 inline base64."""
from __future__ import annotations

from jmapcore.contacts.jscontact import card_read, card_write
from tests.jmapcore.contacts.jscontact.vcards import content_lines, vcard

JPEG = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U"


def test_4_0_data_uri_and_url_photos() -> None:
    card = card_read(vcard("FN:A", f"PHOTO:data:image/jpeg;base64,{JPEG}",
                           "LOGO;MEDIATYPE=image/png:https://example.com/logo.png")).card
    assert card["media"]["m1"] == {"kind": "photo", "uri": f"data:image/jpeg;base64,{JPEG}"}
    assert card["media"]["m2"] == {"kind": "logo", "uri": "https://example.com/logo.png", "mediaType": "image/png"}
    assert card_read(card_write(card, previous_text=None, version="4.0")).card["media"] == card["media"]


def test_3_0_inline_base64_photo_is_a_data_uri_and_goes_back_inline() -> None:
    card = card_read(vcard("FN:A", f"PHOTO;ENCODING=b;TYPE=JPEG:{JPEG}", version="3.0")).card
    assert card["media"]["m1"] == {"kind": "photo", "uri": f"data:image/jpeg;base64,{JPEG}",
                                   "mediaType": "image/jpeg"}
    lines = content_lines(card_write(card, previous_text=None, version="3.0"))
    assert f"PHOTO;ENCODING=b;TYPE=JPEG:{JPEG}" in lines
    url = card_read(vcard("FN:A", "PHOTO;VALUE=uri:https://example.com/a.jpg", version="3.0")).card
    assert url["media"]["m1"] == {"kind": "photo", "uri": "https://example.com/a.jpg"}
    assert "PHOTO;VALUE=uri:https://example.com/a.jpg" in content_lines(
        card_write(url, previous_text=None, version="3.0"))


def test_2_1_base64_photo() -> None:
    text = "\r\n".join(["BEGIN:VCARD", "VERSION:2.1", "FN:A", f"PHOTO;JPEG;ENCODING=BASE64:{JPEG}", "",
                        "END:VCARD", ""])
    reading = card_read(text)
    assert reading.version == "3.0"
    assert reading.card["media"]["m1"]["uri"] == f"data:image/jpeg;base64,{JPEG}"


def test_keys_and_sounds() -> None:
    card = card_read(vcard("FN:A", "KEY:https://example.com/key.asc", "SOUND:https://example.com/name.ogg",
                           "KEY;ENCODING=b;TYPE=PGP:bWluZQ==", version="4.0")).card
    assert card["cryptoKeys"]["key1"] == {"uri": "https://example.com/key.asc"}
    assert card["cryptoKeys"]["key2"]["uri"] == "data:application/pgp;base64,bWluZQ=="
    assert card["media"]["m1"] == {"kind": "sound", "uri": "https://example.com/name.ogg"}


def test_an_unknown_encoding_is_kept_and_reported() -> None:
    reading = card_read(vcard("FN:A", "PHOTO;ENCODING=x-uu:begin 644", version="3.0"))
    assert "media" not in reading.card
    assert reading.card["vCardProps"][0][0] == "photo"
    assert reading.problems
