"""Hypothesis strategies for header values with realistic and long tokens:
local parts and domains of up to hundreds of characters with many dots and
dashes, list-bounce addresses, display names of dozens of words, and dates in
the forms mailers write (issue 8: the old 6-character tokens never reached the
shapes that made the parsers backtrack).

Each strategy yields the header text together with the value a correct parser
must return, so the tests have an oracle that is not the parser itself.
"""
from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

_ATOM_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
_LABEL_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"

# One dot-atom piece: mostly letters, with the dashes, pluses and equals signs
# of list bounces and VERP addresses.
_atom = st.text(alphabet=_ATOM_CHARS, min_size=1, max_size=40)
local_parts = st.lists(_atom, min_size=1, max_size=30).map(".".join).map(lambda text: text[:320])
_label = st.text(alphabet=_LABEL_CHARS, min_size=1, max_size=63)
domains = st.lists(_label, min_size=1, max_size=12).map(".".join).map(lambda text: text[:255])


def _bounce(parts: tuple[str, str, str, str]) -> str:
    listname, user, user_domain, domain = parts
    return f"{listname}-bounces+{user}={user_domain}@lists.{domain}"


bounce_addresses = st.tuples(local_parts, local_parts, domains, domains).map(_bounce)
addr_specs = st.one_of(st.tuples(local_parts, domains).map(lambda pair: f"{pair[0]}@{pair[1]}"), bounce_addresses)

_name_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-'éü",
                     min_size=1, max_size=24).filter(lambda word: word.strip(".") == word)
# Display names of up to 60 words, written as atoms (dots and dashes included,
# as real mailers do) or as one quoted string.
display_names = st.lists(_name_word, min_size=1, max_size=60).map(" ".join)


def _mailbox_text(item: tuple[str | None, str, int]) -> str:
    name, address, style = item
    if name is None:
        return address if style % 2 else f"<{address}>"
    if style % 2 or "'" in name or "." in name:
        return f'"{name}" <{address}>'
    return f"{name} <{address}>"


mailboxes = st.tuples(st.none() | display_names, addr_specs, st.integers(0, 3))
# (header value, [(name or None, email)]) with up to 40 mailboxes joined by
# commas and folding white space.
address_lists = st.tuples(st.lists(mailboxes, min_size=1, max_size=40),
                          st.sampled_from([", ", ",", ",\r\n ", " ,\r\n\t"])).map(
    lambda pair: (pair[1].join(_mailbox_text(item) for item in pair[0]),
                  [(item[0], item[1]) for item in pair[0]]))

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date_text(item: tuple[dt.datetime, int, int, str, str]) -> tuple[str, dt.datetime]:
    moment, offset, style, blank, comment = item
    zone = dt.timezone(dt.timedelta(minutes=offset))
    aware = moment.replace(microsecond=0, tzinfo=zone)
    sign = "-" if offset < 0 else "+"
    zone_text = f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
    day = f"{_DAYS[aware.weekday()]},{blank}" if style & 1 else ""
    year = f"{aware.year:04d}"
    text = (f"{day}{aware.day}{blank}{_MONTHS[aware.month - 1]}{blank}{year}{blank}"
            f"{aware.hour:02d}:{aware.minute:02d}:{aware.second:02d}{blank}{zone_text}")
    if style & 2:
        text += f"{blank}({comment})"
    return text, aware


# (Date header value, the aware datetime it means): any year from 1900 on,
# zones from -12:00 to +14:00, runs of blanks up to 100 characters between the
# fields, optional weekday and trailing comment (RFC 5322 §3.3).
dates = st.tuples(
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9998, 12, 31)),
    st.integers(-12 * 60, 14 * 60),
    st.integers(0, 3),
    st.text(alphabet=" \t", min_size=1, max_size=100),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ ", max_size=40),
).map(_date_text)
