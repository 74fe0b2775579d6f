"""The vCard syntax layer stays linear on every hostile shape (issue 10 item 2, issue 8).

A vCard comes from any CardDAV client that shares the address book, so each
shape a hostile writer could send runs through the reader (and the writer and
value helpers) at size n and then 16 n in a fresh interpreter, under a hard
timeout far above what linear needs (tests/linear_run.py). Quadratic growth
needs 256 times longer for 16 n and fails by that timeout; nothing measures or
asserts a duration. Each case also checks what was read at both sizes.
"""
from __future__ import annotations

import pytest

from tests.linear_run import sizes_run

_IMPORTS = "from jmapcore.contacts.jscontact.vcard_syntax import *\n"
_CARD = "'BEGIN:VCARD\\r\\nVERSION:4.0\\r\\nFN:Mallory\\r\\n' + {body} + '\\r\\nEND:VCARD\\r\\n'"

# (shape, make(n) expression, run(text) expression, expected summary at n; "{n}" is the size)
CASES = [
    ("long-folded-line", _CARD.format(body="'NOTE:' + '\\r\\n '.join(['a' * 74] * n)"),
     "vcard_parse(text).properties", "list:3"),
    ("folds-ending-in-equals", _CARD.format(body="'NOTE;X-Q=1:' + '\\r\\n '.join(['a='] * n)"),
     "vcard_parse(text).all('NOTE')[0].value", "str:{2n}"),
    ("quoted-printable-folds", _CARD.format(body="'NOTE;ENCODING=QUOTED-PRINTABLE:' + '\\r\\n '.join(['a='] * n)"),
     "vcard_parse(text).properties", "list:3"),
    ("quoted-printable-soft-breaks",
     _CARD.format(body="'NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:' + '=\\r\\n'.join(['=C3=A9' * 10] * n)"),
     "vcard_parse(text).all('NOTE')[0].value", "str:{10n}"),
    ("many-params", _CARD.format(body="'X-P' + ';P=v' * n + ':v'"),
     "vcard_parse(text).all('X-P')[0].params", "list:{n}"),
    ("many-quoted-params", _CARD.format(body="'X-P' + ';P=\"a:b;c,d\"' * n + ':v'"),
     "vcard_parse(text).all('X-P')[0].params", "list:{n}"),
    ("many-nameless-params", _CARD.format(body="'TEL' + ';HOME' * n + ':1'"),
     "vcard_parse(text).all('TEL')[0].params", "list:{n}"),
    ("many-param-values", _CARD.format(body="'X-P;P=' + ',v' * n + ':v'"),
     "vcard_parse(text).all('X-P')[0].params[0].values", "list:{n+1}"),
    ("many-properties", _CARD.format(body="'EMAIL:mallory@example.com\\r\\n' * n + 'NOTE:x'"),
     "vcard_parse(text).properties", "list:{n+3}"),
    ("unterminated-quote", _CARD.format(body="'X-P;A=\"' + 'a;b:c' * n"),
     "vcard_parse(text).all('X-P')[0].value", "str:{5n-4}"),
    ("quote-opens-everywhere", _CARD.format(body="'X-P' + ';A=\"' * n + ':v'"),
     "vcard_parse(text).properties", "list:3"),
    ("stray-quotes", _CARD.format(body="'X-P;A=b' + '\"' * n + ':v'"), "vcard_parse(text).properties", "list:3"),
    ("quoted-colons", _CARD.format(body="'X-P;A=\"' + ':' * n + '\":v'"),
     "vcard_parse(text).all('X-P')[0].param('A')[0]", "str:{n}"),
    ("many-carets", _CARD.format(body="'X-P;A=' + '^^^n^\\'^x' * n + ':v'"),
     "vcard_parse(text).all('X-P')[0].param('A')[0]", "str:{5n}"),
    ("many-backslashes", "'\\\\' * n", "value_components(text)", "list:1"),
    ("escaped-semicolons", "'\\\\;' * n", "value_components(text)[0][0]", "str:{n}"),
    ("escaped-backslash-semicolons", "'\\\\\\\\;' * n", "value_components(text)", "list:{n+1}"),
    ("backslash-soup", "'a\\\\,b\\\\;c\\\\nd\\\\\\\\' * n", "value_unescape(text)", "str:{8n}"),
    ("split-many-separators", "',' * n", "value_split(text, ',')", "list:{n+1}"),
    ("backslashes-in-a-card", _CARD.format(body="'N:' + '\\\\' * n"),
     "value_components(vcard_parse(text).all('N')[0].value)", "list:1"),
    ("many-begin-without-end", "'BEGIN:VCARD\\r\\nFN:x\\r\\n' * n", "vcards_parse(text)", "list:{n}"),
    ("many-end-without-begin", "'END:VCARD\\r\\n' * n", "vcards_parse(text)", "list:0"),
    ("many-junk-lines-in-a-card", _CARD.format(body="'mallory was here\\r\\n' * n + 'NOTE:x'"),
     "vcard_parse(text).all('FN')[0].value", "str:{18n+7}"),
    ("junk-after-base64", _CARD.format(body="'PHOTO;ENCODING=b:QUJD\\r\\n' + 'not base64!\\r\\n' * n + 'NOTE:x'"),
     "vcard_parse(text).properties", "list:4"),
    ("base64-lines-of-21", _CARD.format(body="'PHOTO;ENCODING=BASE64:\\r\\n' + 'QUJD\\r\\n' * n"),
     "vcard_parse(text).all('PHOTO')[0].value", "str:{4n}"),
    ("many-cards", "'BEGIN:VCARD\\r\\nVERSION:3.0\\r\\nFN:Bob\\r\\nEND:VCARD\\r\\n' * n",
     "vcards_parse(text)", "list:{n}"),
    ("invalid-param-names", _CARD.format(body="'X-P' + ';É=v' * n + ':v'"),
     "vcard_parse(text).all('X-P')[0].params", "list:{n}"),
    ("serialize-many-properties", _CARD.format(body="'NOTE:' + 'é€😀' * 40 + '\\r\\n' + 'TEL:1\\r\\n' * n + 'X:x'"),
     "vcard_serialize(vcard_parse(text))", None),
    ("fold-a-huge-line", "'NOTE:' + 'aé€😀' * n", "line_fold(text)", None),
    ("rewrite-from-fields", _CARD.format(body="'X-P' + ';P=\"a,b\\\\n^\"' * n + ':' + 'v;,\\\\n' * n"),
     "vcard_serialize(VCard(properties=[VCardProperty(p.name, p.value, params=p.params) "
     "for p in vcard_parse(text).properties]))", None),
]


# Shapes where every line makes a card or a written line cost most per unit;
# a smaller n keeps them far below the timeout on a shared machine while 16 n
# stays large enough for quadratic growth to hit it.
BASE = 20_000
BASE_SMALLER = {"many-cards": 5_000, "many-begin-without-end": 5_000, "serialize-many-properties": 10_000}


def _expected(template: str, n: int) -> str:
    """The summary template with {n}, {2n}, {n+1}, {4n-3}, … filled in for size n."""
    head, _, tail = template.partition("{")
    if not tail:
        return template
    formula = tail.rstrip("}")
    factor, _, offset = formula.replace("-", "+-").partition("+")
    value = int(factor[:-1] or 1) * n if factor.endswith("n") else int(factor)
    return f"{head}{value + (int(offset) if offset else 0)}"


@pytest.mark.parametrize(("shape", "make", "run", "summary"), CASES, ids=[case[0] for case in CASES])
def test_vcard_syntax_is_linear_on_shape(shape: str, make: str, run: str, summary: str | None) -> None:
    base = BASE_SMALLER.get(shape, BASE)
    setup = (
        _IMPORTS
        + "from jmapcore.contacts.jscontact.vcard_model import VCard, VCardProperty\n"
        + f"def make(n):\n    return {make}\n"
        + f"def run(text):\n    return {run}\n"
    )
    summaries = sizes_run(setup, base=base, what=f"the vCard syntax layer on {shape}")
    if summary is None:
        assert all(line.startswith("str:") for line in summaries), summaries
    else:
        assert summaries == [_expected(summary, base), _expected(summary, 16 * base)]
