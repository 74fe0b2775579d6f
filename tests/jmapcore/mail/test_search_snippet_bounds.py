"""SearchSnippet/get with hostile filters (issue 8): the filter's words are
bounded in number and length, never compiled into a regular expression, and
highlighting is linear in the text."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from backends.imap.pool import imap_pool_close_all
from jmapcore.mail.search_snippet import MAX_TERM_LENGTH, MAX_TERMS, highlight
from tests.jmapcore.mail.conftest import MailUser, message
from tests.linear_run import sizes_run
from tests.servers.dovecot import DovecotServer


@pytest.fixture
def mallory_mail(db: None, dovecot: DovecotServer, jmap_client: Client) -> Iterator[MailUser]:
    """mallory, who sends hostile search filters to her own account."""
    user = MailUser(client=jmap_client, dovecot=dovecot, name="mallory")
    yield user
    imap_pool_close_all()


def test_terms_are_literal_and_case_insensitive() -> None:
    assert highlight("Costs (a+b)* [draft] REPORT", ["(a+b)*", "[draft]", "report"]) == (
        "Costs <mark>(a+b)*</mark> <mark>[draft]</mark> <mark>REPORT</mark>"
    )
    assert highlight("a.c abc", ["a.c"]) == "<mark>a.c</mark> abc"


def test_longest_term_wins_and_matches_do_not_overlap() -> None:
    assert highlight("reports", ["rep", "reports", "port"]) == "<mark>reports</mark>"
    assert highlight("aaaaa", ["aa"]) == "<mark>aa</mark><mark>aa</mark>a"
    assert highlight("<b>&", ["b"]) == "&lt;<mark>b</mark>&gt;&amp;"
    assert highlight("nothing here", ["absent"]) is None


def test_case_folding_keeps_offsets() -> None:
    # U+0130 lower-cases to two characters: offsets after it must still be right.
    assert highlight("\u0130stanbul ISTANBUL", ["istanbul"]) == "\u0130stanbul <mark>ISTANBUL</mark>"


def test_overlong_terms_are_not_highlighted() -> None:
    long_word = "x" * (MAX_TERM_LENGTH + 1)
    assert highlight(long_word, [long_word]) is None
    assert highlight("x" * MAX_TERM_LENGTH, ["x" * MAX_TERM_LENGTH]) == f"<mark>{'x' * MAX_TERM_LENGTH}</mark>"


def test_many_words_and_long_words_from_mallory(mallory_mail: MailUser) -> None:
    mallory_mail.deliver(message(subject="weekly report", body="The weekly report is attached.\r\n"))
    mallory_mail.sync()
    [email_id] = mallory_mail.ok("Email/query", filter={"subject": "report"})["ids"]
    # Words 1..MAX_TERMS-1 never match; "report" comes after the bound and is ignored.
    noise = " ".join(f"w{number}" for number in range(MAX_TERMS))
    bounded = mallory_mail.ok("SearchSnippet/get", filter={"text": noise + " report"}, emailIds=[email_id])
    assert bounded["list"] == [{"emailId": email_id, "subject": None, "preview": None}]
    huge = "(a|a)*" * 100  # not a pattern: a word, too long to highlight
    result = mallory_mail.ok("SearchSnippet/get", filter={"text": f"{huge} weekly"}, emailIds=[email_id])
    assert result["list"][0]["subject"] == "<mark>weekly</mark> report"


def test_highlighting_is_linear() -> None:
    setup = (
        "import django\ndjango.setup()\n"
        "from jmapcore.mail.search_snippet import MAX_TERM_LENGTH, MAX_TERMS, highlight\n"
        "TERMS = ['a' * (MAX_TERM_LENGTH - k) + 'b' for k in range(MAX_TERMS)]\n"
        "def make(n):\n    return 'a' * n\n"
        "def run(text):\n    return highlight(text, TERMS) or ''\n"
    )
    assert sizes_run(setup, base=20_000, what="highlight") == ["str:0", "str:0"]
