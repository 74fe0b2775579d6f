"""About the person: NOTE, CATEGORIES (→ keywords), LANG (→ preferredLanguages),
GENDER / GRAMGENDER / PRONOUNS (→ speakToAs), EXPERTISE / HOBBY / INTEREST
(→ personalInfo), and the card-level LANGUAGE and PRODID.

RFC 9555's rules for each; RFC 6350 §6.7.2 (NOTE), §6.7.1 (CATEGORIES), §6.4.4
(LANG), §6.2.7 (GENDER); RFC 9554 (GRAMGENDER, PRONOUNS, LANGUAGE); RFC 6715
(EXPERTISE, HOBBY, INTEREST); RFC 9553's Note, SpeakToAs, LanguagePref and
PersonalInfo objects. GENDER's sex M, F and N
become a grammatical gender only when the property says nothing else; any other
GENDER is kept in vCardProps, so nothing is lost.
"""
from __future__ import annotations

from typing import Any

from jmapcore.contacts.jscontact.dates import utc_timestamp
from jmapcore.contacts.jscontact.property_params import params_read, params_write
from jmapcore.contacts.jscontact.read_context import ReadContext
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import value_escape, value_split, value_unescape
from jmapcore.contacts.jscontact.write_context import WriteContext

GENDER_OF_SEX = {"M": "masculine", "F": "feminine", "N": "neuter"}
SEX_OF_GENDER = {gender: sex for sex, gender in GENDER_OF_SEX.items()}
GRAMMATICAL_GENDERS = {"animate", "common", "feminine", "inanimate", "masculine", "neuter"}
INFO_KINDS = {"EXPERTISE": "expertise", "HOBBY": "hobby", "INTEREST": "interest"}
PROPERTY_OF_INFO = {kind: name for name, kind in INFO_KINDS.items()}


def read_note(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    created = utc_timestamp(prop.param("CREATED")[0]) if prop.param("CREATED") else None
    handled = {"AUTHOR", "AUTHOR-NAME"} | ({"CREATED"} if created else set())
    reading = params_read(prop, handled=handled, contexts=False, pref=False)
    entry: dict[str, Any] = {"note": value_unescape(prop.value)}
    if created:
        entry["created"] = created
    author: dict[str, str] = {}
    if prop.param("AUTHOR"):
        author["uri"] = prop.param("AUTHOR")[0]
    if prop.param("AUTHOR-NAME"):
        author["name"] = prop.param("AUTHOR-NAME")[0]
    if author:
        entry["author"] = author
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    ctx.entry_add("notes", "n", index, entry, reading.prop_id)
    return True


def read_categories(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    if prop.params or prop.group:
        return False
    keywords = ctx.card.setdefault("keywords", {})
    for raw in value_split(prop.value, ","):
        word = value_unescape(raw).strip()
        if word:
            keywords[word] = True
    ctx.claim(("keywords",), index)
    return True


def read_lang(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop)
    entry: dict[str, Any] = {"language": value_unescape(prop.value).strip()}
    if reading.contexts:
        entry["contexts"] = dict(reading.contexts)
    if reading.pref is not None:
        entry["pref"] = reading.pref
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    ctx.entry_add("preferredLanguages", "lang", index, entry, reading.prop_id)
    return True


def read_gender(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    speak = ctx.card.setdefault("speakToAs", {})
    if "grammaticalGender" in speak or prop.params or prop.group:
        return False
    if prop.name == "GENDER":
        value = prop.value.strip()
        if value.upper() not in GENDER_OF_SEX:   # "M;he/him", "O", "U", ";…" say more than a gender
            return False
        speak["grammaticalGender"] = GENDER_OF_SEX[value.upper()]
        speak["vCardName"] = "gender"
    else:
        value = value_unescape(prop.value).strip().lower()
        if value not in GRAMMATICAL_GENDERS:
            return False
        speak["grammaticalGender"] = value
    ctx.claim(("speakToAs",), index)
    return True


def read_pronouns(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop)
    entry: dict[str, Any] = {"pronouns": value_unescape(prop.value)}
    if reading.contexts:
        entry["contexts"] = dict(reading.contexts)
    if reading.pref is not None:
        entry["pref"] = reading.pref
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    pronouns = ctx.card.setdefault("speakToAs", {}).setdefault("pronouns", {})
    pronouns[ctx.id_new("pronouns", pronouns, "pr", reading.prop_id)] = entry
    ctx.claim(("speakToAs",), index)
    return True


def read_info(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    listed = (prop.param("INDEX") or [""])[0]
    index_ok = listed.isascii() and listed.isdigit() and int(listed) >= 1
    reading = params_read(prop, handled={"LEVEL"} | ({"INDEX"} if index_ok else set()), contexts=False, pref=False)
    entry: dict[str, Any] = {"kind": INFO_KINDS[prop.name], "value": value_unescape(prop.value)}
    level = (prop.param("LEVEL") or [""])[0].lower()
    # RFC 6715 levels: beginner/average/expert (EXPERTISE), low/medium/high (HOBBY, INTEREST).
    levels = {"beginner": "low", "average": "medium", "expert": "high", "low": "low", "medium": "medium",
              "high": "high"}
    if level in levels:
        entry["level"] = levels[level]
    elif level:
        reading.vcard_params["level"] = level
    if index_ok:
        entry["listAs"] = int(listed)
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    ctx.entry_add("personalInfo", "pi", index, entry, reading.prop_id)
    return True


def read_scalar(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    key = {"LANGUAGE": "language", "PRODID": "prodId"}[prop.name]
    if key in ctx.card or prop.params or prop.group:
        return False
    ctx.card[key] = value_unescape(prop.value).strip()
    ctx.claim((key,), index)
    return True


READERS = {"NOTE": read_note, "CATEGORIES": read_categories, "LANG": read_lang, "GENDER": read_gender,
           "GRAMGENDER": read_gender, "PRONOUNS": read_pronouns, **dict.fromkeys(INFO_KINDS, read_info),
           "LANGUAGE": read_scalar, "PRODID": read_scalar}


def read_finish(ctx: ReadContext) -> None:
    for key in ("speakToAs", "keywords"):
        if ctx.card.get(key) == {}:
            del ctx.card[key]


def write_notes(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, (entry_id, entry) in enumerate((card.get("notes") or {}).items(), start=1):
        if not isinstance(entry, dict):
            continue
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"n{position}",
                                     with_contexts=False)
        if entry.get("created"):
            params.append(VCardParam(name="CREATED", values=[str(entry["created"]).replace("-", "").replace(":", "")]))
        author = entry.get("author") or {}
        if isinstance(author, dict):
            if author.get("uri"):
                params.append(VCardParam(name="AUTHOR", values=[str(author["uri"])]))
            if author.get("name"):
                params.append(VCardParam(name="AUTHOR-NAME", values=[str(author["name"])]))
        ctx.emit_labelled(("notes", entry_id), "NOTE", value_escape(str(entry.get("note", ""))), params, group,
                          entry.get("label"))


def write_keywords(ctx: WriteContext, card: dict[str, Any]) -> None:
    words = [word for word, on in (card.get("keywords") or {}).items() if on]
    if words:
        ctx.emit(("keywords",), "CATEGORIES", ",".join(value_escape(word) for word in words))


def write_languages(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, (entry_id, entry) in enumerate((card.get("preferredLanguages") or {}).items(), start=1):
        if isinstance(entry, dict):
            group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"lang{position}")
            # Escaped as read_lang unescapes it: a tag has nothing to escape, a hostile value must survive.
            language = value_escape(str(entry.get("language", "")))
            ctx.emit_labelled(("preferredLanguages", entry_id), "LANG", language, params, group, entry.get("label"))


def write_speak_to_as(ctx: WriteContext, card: dict[str, Any]) -> None:
    speak = card.get("speakToAs") or {}
    if not isinstance(speak, dict):
        return
    gender = speak.get("grammaticalGender")
    if isinstance(gender, str) and gender:
        if gender in SEX_OF_GENDER and (speak.get("vCardName") == "gender" or ctx.version != "4.0"):
            ctx.emit(("speakToAs",), "GENDER", SEX_OF_GENDER[gender])
        else:
            ctx.emit(("speakToAs",), "GRAMGENDER", gender)
    for position, (entry_id, entry) in enumerate((speak.get("pronouns") or {}).items(), start=1):
        if isinstance(entry, dict):
            group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"pr{position}")
            ctx.emit(("speakToAs",), "PRONOUNS", value_escape(str(entry.get("pronouns", ""))), params, group)


def write_personal_info(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, (entry_id, entry) in enumerate((card.get("personalInfo") or {}).items(), start=1):
        if not isinstance(entry, dict) or entry.get("kind") not in PROPERTY_OF_INFO:
            continue
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"pi{position}",
                                     with_contexts=False)
        name = PROPERTY_OF_INFO[entry["kind"]]
        level = entry.get("level")
        if level:
            if name == "EXPERTISE":
                level = {"low": "beginner", "medium": "average", "high": "expert"}.get(level, level)
            params.append(VCardParam(name="LEVEL", values=[str(level)]))
        if isinstance(entry.get("listAs"), int):
            params.append(VCardParam(name="INDEX", values=[str(entry["listAs"])]))
        ctx.emit_labelled(("personalInfo", entry_id), name, value_escape(str(entry.get("value", ""))), params,
                          group, entry.get("label"))


def write_scalars(ctx: WriteContext, card: dict[str, Any]) -> None:
    for key, name in (("language", "LANGUAGE"), ("prodId", "PRODID")):
        if isinstance(card.get(key), str) and card[key]:
            ctx.emit((key,), name, value_escape(card[key]))
