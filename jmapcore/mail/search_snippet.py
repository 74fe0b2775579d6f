"""SearchSnippet/get (RFC 8621 §5): the subject and preview of each email with
the terms of the filter's text, subject and body conditions marked.

Snippets are HTML: the text is escaped and every match is wrapped in
<mark></mark>. A null subject or preview means no term matched there.

The terms come from the request, so they are bounded before use: at most
MAX_TERMS distinct words are highlighted, and a word longer than
MAX_TERM_LENGTH characters is not highlighted at all (it still filters the
query). Highlighting looks each word up with str.find — no regular expression
is built from request data — so its cost is at most
len(text) x MAX_TERMS x MAX_TERM_LENGTH character comparisons: linear in the
text.
"""
from __future__ import annotations

import html
from typing import Any

from jmapcore.context import CallContext
from jmapcore.limits import LIMITS
from jmapcore.mail.email_filters import FILTER_NAMES
from jmapcore.models.mail import Email
from jmapcore.protocol.arguments import read_ids
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.query import Filter, FilterCondition, filter_parse

SUBJECT_TERMS = ("text", "subject")
PREVIEW_TERMS = ("text", "body")
MAX_TERMS = 32
MAX_TERM_LENGTH = 128


def _terms(parsed: Filter | None, names: tuple[str, ...]) -> list[str]:
    """Search terms of the positive (not under NOT) conditions named `names`."""
    found: list[str] = []

    def walk(node: Filter | None, negated: bool) -> None:
        if node is None:
            return
        if isinstance(node, FilterCondition):
            if not negated:
                found.extend(str(value) for name, value in node.values.items() if name in names and value)
            return
        for child in node.conditions:
            walk(child, negated or node.operator == "NOT")

    walk(parsed, False)
    words: dict[str, None] = {}
    for term in found:
        for word in term.split():
            if len(word) <= MAX_TERM_LENGTH:
                words[word] = None
            if len(words) >= MAX_TERMS:
                return list(words)
    return list(words)


def _folded(text: str) -> str:
    """`text` lower-cased character by character, keeping its length (a
    character whose lower case is longer, such as U+0130, stays as it is), so
    that offsets in the result are offsets in `text`."""
    return "".join(lowered if len(lowered := char.lower()) == 1 else char for char in text)


def highlight(text: str, terms: list[str]) -> str | None:
    """`text` escaped as HTML with every term (case-insensitive) in <mark>; None without a match.

    Matches are taken from left to right without overlapping; where several
    terms match at one position the longest wins."""
    if not text or not terms:
        return None
    folded = _folded(text)
    ends = [0] * len(folded)  # start -> end of the longest term matching there (0: none)
    matched = False
    for term in dict.fromkeys(_folded(term) for term in terms[:MAX_TERMS] if 0 < len(term) <= MAX_TERM_LENGTH):
        start = folded.find(term)
        while start >= 0:
            matched = True
            ends[start] = max(ends[start], start + len(term))
            start = folded.find(term, start + 1)
    if not matched:
        return None
    pieces: list[str] = []
    last = index = 0
    while index < len(ends):
        end = ends[index]
        if not end:
            index += 1
            continue
        pieces.append(html.escape(text[last:index]))
        pieces.append(f"<mark>{html.escape(text[index:end])}</mark>")
        last = index = end  # matches inside this one are skipped
    pieces.append(html.escape(text[last:]))
    return "".join(pieces)


def search_snippet_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    account = ctx.account(args.get("accountId"))
    parsed = filter_parse(args.get("filter"), condition_properties=FILTER_NAMES)
    email_ids = read_ids(args, "emailIds", references=True)
    if email_ids is None:
        raise MethodError("invalidArguments", "emailIds: required")
    if len(email_ids) > LIMITS.maxObjectsInGet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInGet} emails per SearchSnippet/get")
    subject_terms = _terms(parsed, SUBJECT_TERMS)
    preview_terms = _terms(parsed, PREVIEW_TERMS)
    rows = {
        jmap_id: (subject, preview)
        for jmap_id, subject, preview in Email.objects.filter(
            account=account, destroyed=False, jmap_id__in=email_ids
        ).values_list("jmap_id", "subject", "preview")
    }
    snippets = []
    not_found = []
    for email_id in dict.fromkeys(email_ids):
        if email_id not in rows:
            not_found.append(email_id)
            continue
        subject, preview = rows[email_id]
        snippets.append(
            {
                "emailId": email_id,
                "subject": highlight(subject, subject_terms),
                "preview": highlight(preview, preview_terms),
            }
        )
    return {"accountId": account.accountid, "list": snippets, "notFound": not_found or None}
