"""The Envelope of an EmailSubmission (RFC 8621 §7) and FUTURERELEASE holds (RFC 4865).

envelope_validate() checks a client's Envelope: `mailFrom` an Address,
`rcptTo` a non-null list of Addresses, where an Address is
{"email": String, "parameters": String[String|null]|null} with parameter
names that are esmtp-keywords (RFC 5321 §4.1.2) and decoded values.

hold_release() reads the RFC 4865 mail-parameters HOLDFOR (seconds) and
HOLDUNTIL (an RFC 3339 date-time) the proxy implements itself: they say when
the message is to be released, and are never passed on to the SMTP server.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.errors import HeaderParseError
from email.parser import BytesParser
from typing import Any

from jmapcore.datatypes.values import InvalidValue

HOLD_PARAMETERS = frozenset({"HOLDFOR", "HOLDUNTIL"})
# esmtp-keyword (RFC 5321 §4.1.2).
_PARAM_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_BAD_IN_PATH = set("<> \t\r\n\0")
MAX_RECIPIENTS = 1000


def envelope_address_ok(email: str) -> bool:
    """An address a MAIL FROM / RCPT TO path can carry: local@domain, no spaces,
    controls or angle brackets."""
    local, at, domain = email.rpartition("@")
    return bool(at and local and domain) and not (_BAD_IN_PATH & set(email)) and len(email) <= 320


def _address(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or "email" not in value or set(value) - {"email", "parameters"}:
        raise InvalidValue(f"{where} must be an Address (email, parameters)")
    email = value["email"]
    if not isinstance(email, str) or not envelope_address_ok(email):
        raise InvalidValue(f"{where}.email must be an email address")
    parameters = value.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise InvalidValue(f"{where}.parameters must be an object or null")
        for key, item in parameters.items():
            # fullmatch: "$" would let a final newline through into the SMTP command.
            if not isinstance(key, str) or not _PARAM_KEY.fullmatch(key):
                raise InvalidValue(f"{where}.parameters: {key!r} is not an SMTP parameter name")
            if item is not None and not isinstance(item, str):
                raise InvalidValue(f"{where}.parameters.{key} must be a String or null")
    return {"email": email, "parameters": parameters}


def envelope_validate(value: Any) -> dict[str, Any] | None:
    """An Envelope or null (RFC 8621 §7), normalised to both Address keys present."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"mailFrom", "rcptTo"}:
        raise InvalidValue("must be an Envelope (mailFrom, rcptTo) or null")
    rcpt_to = value["rcptTo"]
    if not isinstance(rcpt_to, list):
        raise InvalidValue("rcptTo must be a list of Addresses")
    if len(rcpt_to) > MAX_RECIPIENTS:
        raise InvalidValue(f"rcptTo: at most {MAX_RECIPIENTS} recipients")
    return {
        "mailFrom": _address(value["mailFrom"], "mailFrom"),
        "rcptTo": [_address(item, f"rcptTo[{index}]") for index, item in enumerate(rcpt_to)],
    }


def envelope_make(*, mail_from: str, rcpt_to: list[str]) -> dict[str, Any]:
    """An Envelope without parameters (what RFC 8621 §7 generates from headers)."""
    return {
        "mailFrom": {"email": mail_from, "parameters": None},
        "rcptTo": [{"email": address, "parameters": None} for address in rcpt_to],
    }


def _parameters_upper(address: dict[str, Any]) -> dict[str, str | None]:
    return {key.upper(): item for key, item in (address.get("parameters") or {}).items()}


def hold_release(*, mail_from: dict[str, Any], now: datetime, max_delay: int) -> datetime | None:
    """When a message with these mailFrom parameters is to be released (RFC 4865 §3):
    None to send at once (no hold, HOLDFOR=0, HOLDUNTIL not in the future).

    Raises InvalidValue for a malformed value, both parameters at once, or a
    hold longer than `max_delay` seconds (maxDelayedSend, RFC 8621 §1.3.2).
    """
    params = _parameters_upper(mail_from)
    if "HOLDFOR" in params and "HOLDUNTIL" in params:
        raise InvalidValue("mailFrom: HOLDFOR and HOLDUNTIL are mutually exclusive")
    release: datetime
    if "HOLDFOR" in params:
        raw = params["HOLDFOR"]
        if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 12:
            raise InvalidValue("mailFrom: HOLDFOR must be a number of seconds")
        seconds = int(raw)
        if seconds > max_delay:
            raise InvalidValue(f"mailFrom: HOLDFOR {seconds} exceeds maxDelayedSend {max_delay}")
        release = now + timedelta(seconds=seconds)
    elif "HOLDUNTIL" in params:
        raw = params["HOLDUNTIL"]
        try:
            parsed = datetime.fromisoformat(raw or "")
        except ValueError:
            raise InvalidValue("mailFrom: HOLDUNTIL must be an RFC 3339 date-time") from None
        if parsed.tzinfo is None:
            raise InvalidValue("mailFrom: HOLDUNTIL needs a time zone (RFC 3339)")
        release = parsed.astimezone(UTC)
        if release.microsecond:  # sendAt has whole seconds; never release early
            release = release.replace(microsecond=0) + timedelta(seconds=1)
        if release > now + timedelta(seconds=max_delay):
            raise InvalidValue(f"mailFrom: HOLDUNTIL is more than maxDelayedSend ({max_delay}s) away")
    else:
        return None
    return release if release > now else None


def smtp_mail_parameters(mail_from: dict[str, Any]) -> dict[str, str | None]:
    """The mailFrom parameters to send to the SMTP server: all but the holds."""
    parameters = mail_from.get("parameters") or {}
    return {key: item for key, item in parameters.items() if key.upper() not in HOLD_PARAMETERS}


def header_addresses(raw: bytes, name: str) -> list[str]:
    """The addr-specs in every `name` header field of `raw` (groups expanded)."""
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    found: list[str] = []
    for header in message.get_all(name) or []:
        try:
            addresses = getattr(header, "addresses", ())
        except (HeaderParseError, IndexError, ValueError):
            continue
        found.extend(address.addr_spec for address in addresses if address.addr_spec and "@" in address.addr_spec)
    return found


def identity_allows(*, identity_email: str, address: str) -> bool:
    """Whether an Identity with `identity_email` covers `address` (RFC 8621 §6:
    "*@domain" covers every address at domain). Case-insensitive."""
    wanted, own = address.lower(), identity_email.lower()
    if own.startswith("*@"):
        return wanted.rpartition("@")[2] == own[2:]
    return wanted == own
