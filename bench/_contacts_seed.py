"""Realistic vCards for bench/contacts.py, generated deterministically.

The shapes are those the major clients and servers write (the same shapes as
the vCard corpus of tests/jmapcore/contacts/jscontact/corpus/):

- Apple Contacts (vCard 3.0): grouped properties with item1.X-ABLabel,
  X-ABUID, X-PHONETIC-*, type=pref, a small base64 PHOTO now and then,
  ADR with a country;
- Google (3.0): TYPE=INTERNET on EMAIL, CATEGORIES:myContacts, BDAY without a
  year (--MM-DD), X-ANDROID-CUSTOM;
- Nextcloud / DAVx5 (4.0 and 3.0): PRODID, REV, UID as a urn:uuid, NOTE with
  escaped commas and newlines, IMPP, URL;
- Thunderbird (4.0): VALUE=TEXT phones, ORG with a unit, TITLE, ROLE;
- about 1 % groups (KIND:group with MEMBER, or Apple's
  X-ADDRESSBOOKSERVER-KIND/MEMBER form).

Names mix ASCII and non-ASCII (accents, CJK, Cyrillic), long lines get
folded by the writer (75 octets, RFC 6350 §3.2). `cards(n)` returns
[(uid, text)]; `SEARCH_WORD` is a surname that a known number of cards hold.
"""
from __future__ import annotations

import base64
import random
import unicodedata
import uuid

GIVEN = ["Anna", "Björn", "Chloé", "Dmitri", "Émilie", "Fatima", "Giulia", "Hiroshi", "Ingrid", "José", "Kateřina",
         "Liam", "Mei", "Nils", "Olga", "Pádraig", "Quentin", "Rosa", "Søren", "Tomás", "Uma", "Václav", "Wen",
         "Xavier", "Yuki", "Zoë", "Александр", "美咲", "Aoife", "Bartholomew"]  # fmt: skip
SURNAMES = ["Andersson", "Brontë", "Castellanos", "Dubois", "Eriksen", "Fernández", "García-Márquez", "Hoffmann",
            "Ivanova", "Jankowski", "Kowalczyk", "Lindqvist", "Müller", "Nakamura", "O'Brien", "Papadopoulos",
            "Quiroga", "Rossi", "Schäfer", "Tanaka", "Ueda", "van der Berg", "Wójcik", "Xu", "Yilmaz", "Zimmermann",
            "Смирнов", "佐藤", "Ní Bhriain", "de la Cruz"]  # fmt: skip
COMPANIES = ["Acme GmbH", "Globex Corporation", "Initech", "Umbrella plc", "Stark Industries", "Wayne Enterprises",
             "Tyrell Corp.", "Cyberdyne Systems", "Soylent, Inc.", "Hooli"]  # fmt: skip
UNITS = ["Engineering", "Sales", "Legal", "Research", "Support"]
CITIES = [("Berlin", "10115", "Germany"), ("Paris", "75002", "France"), ("Lisboa", "1100-148", "Portugal"),
          ("Tōkyō", "100-0001", "Japan"), ("New York", "NY 10001", "USA"),
          ("København", "1050", "Denmark")]  # fmt: skip
DOMAINS = ["example.com", "mail.example.org", "example.net", "corp.example.co.uk"]
# The surname the text search of the benchmark looks for.
SEARCH_WORD = "Lindqvist"
# A tiny JPEG-like payload (not decoded by anyone): what a thumbnail costs in a card.
PHOTO = base64.b64encode(bytes(range(256)) * 6).decode()


def fold(line: str) -> str:
    """Fold at 75 octets without splitting a UTF-8 sequence (RFC 6350 §3.2)."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    start = 0
    limit = 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(raw[start:end].decode())
        start = end
        limit = 74  # the leading space of a continuation line counts
    return "\r\n ".join(parts)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def _card(rng: random.Random, index: int) -> tuple[str, str]:
    given = rng.choice(GIVEN)
    surname = rng.choice(SURNAMES)
    uid = str(uuid.UUID(int=rng.getrandbits(128)))
    style = rng.choice(["apple", "google", "nextcloud", "thunderbird"])
    version = "4.0" if style in ("thunderbird",) or (style == "nextcloud" and index % 2) else "3.0"
    folded = unicodedata.normalize("NFKD", f"{given}.{surname}").encode("ascii", "ignore").decode()
    ascii_user = folded.lower().replace(" ", "").replace("'", "").strip(".") or f"user{index}"
    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    if style == "nextcloud":
        lines.append("PRODID:-//Sabre//Sabre VObject 4.5.4//EN")
    lines.append(f"UID:urn:uuid:{uid}" if style in ("nextcloud", "thunderbird") else f"UID:{uid}")
    lines.append(f"FN:{_escape(given)} {_escape(surname)}")
    lines.append(f"N:{_escape(surname)};{_escape(given)};;;")
    for number in range(rng.choice([1, 1, 2, 3])):
        address = f"{ascii_user}{number or ''}@{rng.choice(DOMAINS)}"
        if style == "google":
            lines.append(f"EMAIL;TYPE=INTERNET;TYPE={'HOME' if number else 'WORK'}:{address}")
        elif style == "apple":
            lines.append(f"item{number + 1}.EMAIL;type=INTERNET;type=pref:{address}")
            lines.append(f"item{number + 1}.X-ABLabel:_$!<Other>!$_")
        else:
            lines.append(f"EMAIL;TYPE={'home' if number else 'work'}:{address}")
    for number in range(rng.choice([0, 1, 1, 2])):
        phone = f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}"
        if version == "4.0":
            lines.append(f"TEL;VALUE=TEXT;TYPE={'cell' if number == 0 else 'work,voice'}:{phone}")
        else:
            lines.append(f"TEL;TYPE={'CELL' if number == 0 else 'WORK'}:{phone}")
    if rng.random() < 0.5:
        unit = rng.choice(UNITS)
        lines.append(f"ORG:{_escape(rng.choice(COMPANIES))};{unit}")
        lines.append(f"TITLE:{rng.choice(['Engineer', 'Director', 'Counsel', 'Analyst'])}")
    if rng.random() < 0.35:
        city, code, country = rng.choice(CITIES)
        street = f"{rng.randint(1, 200)} {rng.choice(['Hauptstraße', 'Rue de la Paix', 'Main Street'])}"
        lines.append(f"ADR;TYPE=HOME:;;{_escape(street)};{_escape(city)};;{code};{_escape(country)}")
    if rng.random() < 0.3:
        month, day = rng.randint(1, 9), rng.randint(10, 19)
        # Google writes birthdays without a year as --MM-DD (RFC 6350 §4.3.1).
        year = "--" if style == "google" else f"{rng.randint(1950, 2005)}-"
        lines.append(f"BDAY:{year}0{month}-{day}")
    if rng.random() < 0.2:
        lines.append("NOTE:" + _escape(f"Met at the conference, {rng.randint(2001, 2025)}.\nLikes tea, not coffee."))
    if style == "apple":
        lines.append(f"X-ABUID:{uid.upper()}:ABPerson")
        if rng.random() < 0.3:
            lines.append(f"X-PHONETIC-LAST-NAME:{surname.upper()}")
        if rng.random() < 0.05:
            lines.append(f"PHOTO;ENCODING=b;TYPE=JPEG:{PHOTO}")
    if style == "google":
        lines.append("CATEGORIES:myContacts")
    if style == "nextcloud":
        lines.append(f"IMPP:xmpp:{ascii_user}@jabber.example.org")
        lines.append(f"URL:https://www.example.org/~{ascii_user}")
        lines.append(f"REV:{rng.randint(2015, 2025)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}T101010Z")
    if style == "thunderbird":
        lines.append(f"ROLE:{rng.choice(['Lead', 'Member'])}")
    lines.append("END:VCARD")
    return f"urn:uuid:{uid}" if style in ("nextcloud", "thunderbird") else uid, "".join(
        fold(line) + "\r\n" for line in lines
    )


def _group(rng: random.Random, index: int, members: list[str]) -> tuple[str, str]:
    uid = str(uuid.UUID(int=rng.getrandbits(128)))
    chosen = rng.sample(members, min(len(members), rng.randint(2, 12)))
    if index % 2:
        lines = ["BEGIN:VCARD", "VERSION:4.0", f"UID:urn:uuid:{uid}", "KIND:group", f"FN:Team {index}"]
        lines += [f"MEMBER:{member if member.startswith('urn:') else 'urn:uuid:' + member}" for member in chosen]
    else:
        lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:Group {index}", f"N:Group {index};;;;",
                 "X-ADDRESSBOOKSERVER-KIND:group"]
        lines += [f"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{member.removeprefix('urn:uuid:')}" for member in chosen]
    lines.append("END:VCARD")
    return (f"urn:uuid:{uid}" if index % 2 else uid), "".join(fold(line) + "\r\n" for line in lines)


def cards(count: int, *, seed: int = 10) -> list[tuple[str, str]]:
    """`count` vCards (uid, text): about 1 % groups of earlier individuals."""
    rng = random.Random(seed)
    made: list[tuple[str, str]] = []
    individuals: list[str] = []
    for index in range(count):
        if index % 100 == 99 and individuals:
            made.append(_group(rng, index, individuals))
        else:
            uid, text = _card(rng, index)
            individuals.append(uid)
            made.append((uid, text))
    return made


def resource_name(uid: str) -> str:
    """A safe file name for the card's resource."""
    return "".join(char if char.isalnum() or char in "-_." else "-" for char in uid) + ".vcf"
