"""The conversion stays linear on hostile shapes (issue 10 item 2: "linear time on any input").

Like test_vcard_syntax_scales: each shape runs at size n and 16 n in a fresh
interpreter under a hard timeout far above what linear needs
(tests/linear_run.py); quadratic growth needs 256 times longer for 16 n and
fails by that timeout. Nothing measures or asserts a duration; each case checks
what came out at both sizes.
"""
from __future__ import annotations

import pytest

from tests.linear_run import sizes_run

_SETUP = """
from jmapcore.contacts.jscontact import card_read, card_write, card_search_fields
def card(body, version="4.0"):
    return "BEGIN:VCARD\\r\\nVERSION:" + version + "\\r\\nFN:Mallory\\r\\n" + body + "END:VCARD\\r\\n"
def changed(text, change):
    reading = card_read(text)
    change(reading.card)
    return card_write(reading.card, previous_text=text, version=reading.version)
"""

# (shape, make(n) expression, run(text) expression, expected summary at n; "{n}" is the size)
CASES = [
    ("many-emails", "card('EMAIL;TYPE=work:m@example.com\\r\\n' * n)", "card_read(text).card['emails']",
     "dict:{n}"),
    ("colliding-prop-ids",
     "card(''.join(f'EMAIL;PROP-ID=e{n + i}:a@example.com\\r\\n' for i in range(1, n + 1))"
     " + 'EMAIL:b@example.com\\r\\n' * n)", "card_read(text).card['emails']", "dict:{2n}"),
    ("colliding-pronoun-ids",
     "card(''.join(f'PRONOUNS;PROP-ID=pr{n + i}:they\\r\\n' for i in range(1, n + 1)) + 'PRONOUNS:she\\r\\n' * n)",
     "card_read(text).card['speakToAs']['pronouns']", "dict:{2n}"),
    ("many-labels", "card(''.join(f'item{i}.TEL:1\\r\\nitem{i}.X-ABLabel:x\\r\\n' for i in range(n)), '3.0')",
     "[e for e in card_read(text).card['phones'].values() if e.get('label') == 'x']", "list:{n}"),
    ("one-line-of-nicknames", "card('NICKNAME:' + 'Mal,' * n + 'M\\r\\n')", "card_read(text).card['nicknames']",
     "dict:{n+1}"),
    ("many-categories-one-changed", "card('CATEGORIES:a\\r\\n' + ''.join(f'CATEGORIES:k{i}\\r\\n' for i in range(n)))",
     "changed(text, lambda c: c['keywords'].pop('a')).count('CATEGORIES')", None),
    ("many-members-one-removed",
     "card('KIND:group\\r\\n' + ''.join(f'MEMBER:urn:uuid:{i}\\r\\n' for i in range(n)))",
     "changed(text, lambda c: c['members'].pop('urn:uuid:0')).split('\\r\\n')", "list:{n+5}"),
    ("many-unknown-properties", "card('X-MALLORY;X-P=1:junk\\\\;\\r\\n' * n)",
     "changed(text, lambda c: c['vCardProps'].pop()).split('\\r\\n')", "list:{n+4}"),
    ("many-emails-one-changed", "card('EMAIL:m@example.com\\r\\n' * n, '3.0')",
     "changed(text, lambda c: c['emails']['e1'].update(address='x@example.com')).split('\\r\\n')", "list:{n+5}"),
    ("search-fields-of-many", "card_read(card('EMAIL:M@example.com\\r\\nNOTE:x\\r\\n' * n)).card",
     "card_search_fields(text)['search_email'].split()", "list:{n}"),
    ("written-afresh", "card_read(card('EMAIL:m@example.com\\r\\nTEL:1\\r\\nX-A:b\\r\\n' * n)).card",
     "card_write(text, previous_text=None, version='4.0').split('\\r\\n')", "list:{3n+5}"),
]
BASE = 1_000


@pytest.mark.parametrize(("shape", "make", "run", "summary"), CASES, ids=[case[0] for case in CASES])
def test_conversion_is_linear_on_shape(shape: str, make: str, run: str, summary: str | None) -> None:
    setup = _SETUP + f"def make(n):\n    return {make}\ndef run(text):\n    return {run}\n"
    summaries = sizes_run(setup, base=BASE, what=f"the vCard conversion on {shape}")
    if summary is None:
        assert len(summaries) == 2
        return
    expected = [summary.replace("{n}", str(n)).replace("{2n}", str(2 * n)).replace("{n+1}", str(n + 1))
                .replace("{n+4}", str(n + 4)).replace("{n+5}", str(n + 5)).replace("{3n+5}", str(3 * n + 5))
                for n in (BASE, 16 * BASE)]
    assert summaries == expected
