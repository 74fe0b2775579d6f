"""The iCalendar syntax and value layer stays linear on every hostile shape (issue 11 item 2, issue 8).

An iCalendar object comes from any CalDAV client that shares the calendar, so
each shape a hostile writer (mallory) could send runs through the reader (and
the writer and value parsers) at size n and then 16 n in a fresh interpreter,
under a hard timeout far above what linear needs (tests/linear_run.py).
Quadratic growth needs 256 times longer for 16 n and fails by that timeout;
nothing measures or asserts a duration. Each case also checks what was read at
both sizes.
"""
from __future__ import annotations

import pytest

from tests.linear_run import sizes_run

_IMPORTS = (
    "from jmapcore.calendars.jscalendar.ical_syntax import *\n"
    "from jmapcore.calendars.jscalendar.ical_values import *\n"
    "from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalProperty\n"
)
_EVENT = ("'BEGIN:VCALENDAR\\r\\nVERSION:2.0\\r\\nBEGIN:VEVENT\\r\\nUID:mallory\\r\\n' + {body} + "
          "'\\r\\nEND:VEVENT\\r\\nEND:VCALENDAR\\r\\n'")
_FIRST = "ical_parse(text).root.components[0]"

# (shape, make(n) expression, run(text) expression, expected summary at n; "{n}" is the size)
CASES = [
    ("long-folded-line", _EVENT.format(body="'DESCRIPTION:' + '\\r\\n '.join(['a' * 74] * n)"),
     f"{_FIRST}.first('DESCRIPTION').value", "str:{74n}"),
    ("many-params", _EVENT.format(body="'X-P' + ';P=v' * n + ':v'"), f"{_FIRST}.first('X-P').params", "list:{n}"),
    ("many-quoted-params", _EVENT.format(body="'X-P' + ';P=\"a:b;c,d\"' * n + ':v'"),
     f"{_FIRST}.first('X-P').params", "list:{n}"),
    ("many-param-values", _EVENT.format(body="'X-P;P=' + ',v' * n + ':v'"),
     f"{_FIRST}.first('X-P').params[0].values", "list:{n+1}"),
    ("params-without-values", _EVENT.format(body="'X-P' + ';P' * n + ':v'"),
     f"{_FIRST}.first('X-P').params", "list:{n}"),
    ("many-empty-params", _EVENT.format(body="'X-P' + ';' * n + ':v'"), f"{_FIRST}.properties", "list:2"),
    ("unterminated-quote", _EVENT.format(body="'X-P;A=\"' + 'a;b:c' * n"), f"{_FIRST}.first('X-P').value",
     "str:{5n-4}"),
    ("quote-opens-everywhere", _EVENT.format(body="'X-P' + ';A=\"' * n + ':v'"), f"{_FIRST}.properties", "list:2"),
    ("stray-quotes", _EVENT.format(body="'X-P;A=b' + '\"' * n + ':v'"), f"{_FIRST}.properties", "list:2"),
    ("doubled-quotes", _EVENT.format(body="'X-P;A=' + '\"\"' * n + ':v'"), f"{_FIRST}.properties", "list:2"),
    ("quoted-colons", _EVENT.format(body="'X-P;A=\"' + ':' * n + '\":v'"), f"{_FIRST}.first('X-P').param('A')[0]",
     "str:{n}"),
    ("only-quoted-colons", _EVENT.format(body="'X-P;A=\"' + ':' * n + '\"'"), f"{_FIRST}.properties", "list:2"),
    ("many-carets", _EVENT.format(body="'X-P;A=' + '^^^n^\\'^x' * n + ':v'"),
     f"{_FIRST}.first('X-P').param('A')[0]", "str:{5n}"),
    ("many-properties", _EVENT.format(body="'ATTENDEE:mailto:bob@example.com\\r\\n' * n + 'SUMMARY:x'"),
     f"{_FIRST}.properties", "list:{n+2}"),
    ("many-components",
     "'BEGIN:VCALENDAR\\r\\n' + 'BEGIN:VEVENT\\r\\nUID:x\\r\\nEND:VEVENT\\r\\n' * n + 'END:VCALENDAR\\r\\n'",
     "ical_parse(text).root.components", "list:{n}"),
    ("many-alarms", _EVENT.format(body="'BEGIN:VALARM\\r\\nTRIGGER:-PT5M\\r\\nEND:VALARM\\r\\n' * n + 'X:y'"),
     f"{_FIRST}.components", "list:{n}"),
    ("deep-nesting", "'BEGIN:X-A\\r\\nX-P:v\\r\\n' * n", "ical_parse(text).problems", "list:19"),
    ("deep-nesting-closed", "'BEGIN:X-A\\r\\n' * n + 'END:X-A\\r\\n' * n", "ical_parse(text).root.components",
     "list:1"),
    ("many-begin-without-end", "'BEGIN:VCALENDAR\\r\\n' + 'BEGIN:VEVENT\\r\\nUID:x\\r\\n' * n",
     "ical_parse(text).root.components", "list:{n}"),
    ("many-end-without-begin", "'BEGIN:VCALENDAR\\r\\n' + 'END:VEVENT\\r\\n' * n + 'END:VCALENDAR\\r\\n'",
     "ical_parse(text).root.components", "list:0"),
    ("many-calendars", "'BEGIN:VCALENDAR\\r\\nVERSION:2.0\\r\\nEND:VCALENDAR\\r\\n' * n", "ical_parse(text).more",
     "list:{n-1}"),
    ("many-junk-lines", _EVENT.format(body="'SUMMARY:x\\r\\n' + 'mallory was here\\r\\n' * n + 'X:y'"),
     f"{_FIRST}.first('SUMMARY').value", "str:{18n+1}"),
    ("junk-outside", "'mallory\\r\\n' * n + 'BEGIN:VCALENDAR\\r\\nEND:VCALENDAR\\r\\n'",
     "ical_parse(text).problems", "list:51"),
    ("rrule-10k-byday", "'FREQ=WEEKLY;BYDAY=' + ','.join(['MO', 'TU', 'WE', 'TH', 'FR'] * (n // 5))",
     "recur_parse(text)[0]['BYDAY']", "list:{n}"),
    ("rrule-bad-byday", "'FREQ=MONTHLY;BYDAY=' + ','.join(['9XX'] * n)", "recur_parse(text)[1]", "list:2"),
    ("rrule-many-parts", "'FREQ=DAILY' + ';X-A=b' * n", "recur_parse(text)[0]", "dict:2"),
    ("rrule-in-an-event", _EVENT.format(body="'RRULE:FREQ=MONTHLY;BYMONTHDAY=' + ','.join(['-1'] * n)"),
     f"recur_parse({_FIRST}.first('RRULE').value)[0]['BYMONTHDAY']", "list:{n}"),
    ("many-exdates", "'20240101T100000Z,' * n",
     "times_parse(IcalProperty('EXDATE', text))[0]", "list:{n}"),
    ("long-duration", "'P' + '1' * n + 'D'", "duration_parse(text)[1]", "str:{s}"),
    ("long-date-time", "'2' * n + 'T000000Z'", "date_time_parse(text)[1]", "str:{s}"),
    ("many-backslashes", "'\\\\\\\\' * n", "text_unescape(text)", "str:{n}"),
    ("text-list-many-commas", "'a\\\\,' * n + ',' * n", "text_list(text)", "list:{n+1}"),
    ("serialize-many-properties",
     _EVENT.format(body="'SUMMARY:' + 'é€😀' * 40 + '\\r\\n' + 'X-P:1\\r\\n' * n + 'X:x'"),
     "ical_serialize(ical_parse(text).root)", None),
    ("rewrite-from-fields", _EVENT.format(body="'X-P' + ';P=\"a,b\\\\n^\"' * n + ':' + 'v;,\\\\n' * n"),
     "ical_serialize(IcalComponent('VCALENDAR', components=[IcalComponent('VEVENT', properties=["
     "IcalProperty(p.name, p.value, params=p.params) for p in " + _FIRST + ".properties])]))", None),
    ("serialize-deep", "n", "ical_serialize(_deep(text))", None),
]

# Shapes where every line makes a component or a written line cost most per
# unit; a smaller n keeps them far below the timeout on a shared machine while
# 16 n stays large enough for quadratic growth to hit it.
BASE = 20_000
BASE_SMALLER = {"many-components": 5_000, "many-alarms": 5_000, "many-begin-without-end": 5_000,
                "many-calendars": 5_000, "serialize-many-properties": 10_000, "serialize-deep": 5_000,
                "many-exdates": 10_000}

_HELPERS = """
def _deep(n):
    root = IcalComponent('X-DEEP')
    component = root
    for _ in range(n):
        child = IcalComponent('X-DEEP', properties=[IcalProperty('X-P', 'v')])
        component.components.append(child)
        component = child
    return root
"""


def _expected(template: str, n: int) -> str:
    """The summary template with {n}, {2n}, {n+1}, {4n-3}, … filled in for size n."""
    head, _, tail = template.partition("{")
    if not tail:
        return template
    formula = tail.rstrip("}")
    if formula == "s":
        return head  # the problem text: only its type is checked
    factor, _, offset = formula.replace("-", "+-").partition("+")
    value = int(factor[:-1] or 1) * n if factor.endswith("n") else int(factor)
    return f"{head}{value + (int(offset) if offset else 0)}"


@pytest.mark.parametrize(("shape", "make", "run", "summary"), CASES, ids=[case[0] for case in CASES])
def test_ical_syntax_is_linear_on_shape(shape: str, make: str, run: str, summary: str | None) -> None:
    base = BASE_SMALLER.get(shape, BASE)
    setup = _IMPORTS + _HELPERS + f"def make(n):\n    return {make}\n" + f"def run(text):\n    return {run}\n"
    summaries = sizes_run(setup, base=base, what=f"the iCalendar syntax layer on {shape}")
    if summary is None:
        assert all(line.startswith("str:") or line.startswith("list:") for line in summaries), summaries
    elif summary.endswith("{s}"):
        assert all(line.startswith(summary[:-3]) for line in summaries), summaries
    else:
        assert summaries == [_expected(summary, base), _expected(summary, 16 * base)]
