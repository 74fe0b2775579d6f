"""Property value validators: JSON value in, stored value out (RFC 8620 §1.1-§1.4).

A validator raises InvalidValue for a value of the wrong type or range; the
/set engine turns that into a SetError invalidProperties naming the property.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jmapcore.protocol.arguments import is_id, is_int, is_unsigned_int

Validator = Callable[[Any], Any]


class InvalidValue(ValueError):
    """A property or filter value of the wrong JMAP type."""


def any_json(value: Any) -> Any:
    return value


def string(*, max_length: int | None = None, nullable: bool = False, empty: bool = True) -> Validator:
    def check(value: Any) -> str | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise InvalidValue("must be a String" + (" or null" if nullable else ""))
        if not empty and not value:
            raise InvalidValue("must not be empty")
        if max_length is not None and len(value) > max_length:
            raise InvalidValue(f"must be at most {max_length} characters")
        return value

    return check


def boolean(*, nullable: bool = False) -> Validator:
    def check(value: Any) -> bool | None:
        if value is None and nullable:
            return None
        if not isinstance(value, bool):
            raise InvalidValue("must be a Boolean")
        return value

    return check


def integer(*, nullable: bool = False, minimum: int | None = None, maximum: int | None = None) -> Validator:
    def check(value: Any) -> int | None:
        if value is None and nullable:
            return None
        if not is_int(value):
            raise InvalidValue("must be an Int")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise InvalidValue("out of range")
        return value

    return check


def unsigned_int(*, nullable: bool = False) -> Validator:
    def check(value: Any) -> int | None:
        if value is None and nullable:
            return None
        if not is_unsigned_int(value):
            raise InvalidValue("must be an UnsignedInt")
        return value

    return check


def jmap_id(*, nullable: bool = False) -> Validator:
    """An Id (after "#creationId" references have been resolved)."""

    def check(value: Any) -> str | None:
        if value is None and nullable:
            return None
        if not is_id(value):
            raise InvalidValue("must be an Id")
        return value

    return check


def id_set() -> Validator:
    """`Id[Boolean]` where every value is true (e.g. RFC 8621 mailboxIds)."""

    def check(value: Any) -> dict[str, bool]:
        if not isinstance(value, dict) or not all(is_id(key) and val is True for key, val in value.items()):
            raise InvalidValue("must be a map of Ids to true")
        return value

    return check


def utc_date(*, nullable: bool = False) -> Validator:
    """A UTCDate (RFC 8620 §1.4): "YYYY-MM-DDThh:mm:ssZ", stored as an aware datetime."""

    def check(value: Any) -> datetime | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value.endswith("Z"):
            raise InvalidValue("must be a UTCDate")
        try:
            parsed = datetime.fromisoformat(value[:-1])
        except ValueError:
            raise InvalidValue("must be a UTCDate") from None
        if parsed.tzinfo is not None:
            raise InvalidValue("must be a UTCDate")
        return parsed.replace(tzinfo=UTC)

    return check


def utc_date_dump(value: datetime | None) -> str | None:
    """Stored datetime -> UTCDate string (RFC 8620 §1.4, no fractional seconds)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Characters XML 1.0 cannot hold (§2.2: C0 controls but tab, LF, CR; U+FFFE, U+FFFF)
# plus DEL: a text that goes into a WebDAV body (names, descriptions) must not have them.
_NOT_XML_TEXT = frozenset(chr(code) for code in (*range(0x20), 0x7F, 0xFFFE, 0xFFFF)) - {"\t", "\n", "\r"}


def xml_text_check(value: str) -> str:
    """`value` unchanged, or InvalidValue when it has a character XML 1.0 cannot carry."""
    if not _NOT_XML_TEXT.isdisjoint(value):
        raise InvalidValue("must not contain control characters")
    return value
