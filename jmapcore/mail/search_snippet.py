"""SearchSnippet/get (RFC 8621 §5): the subject and preview of each email with
the terms of the filter's text, subject and body conditions marked.

Snippets are HTML: the text is escaped and every match is wrapped in
<mark></mark>. A null subject or preview means no term matched there.
"""
from __future__ import annotations

import html
import re
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
    words: list[str] = []
    for term in found:
        words.extend(word for word in re.split(r"\s+", term.strip()) if word)
    return list(dict.fromkeys(words))


def highlight(text: str, terms: list[str]) -> str | None:
    """`text` escaped as HTML with every term (case-insensitive) in <mark>; None without a match."""
    if not text or not terms:
        return None
    pattern = re.compile("|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    pieces: list[str] = []
    last = 0
    matched = False
    for match in pattern.finditer(text):
        matched = True
        pieces.append(html.escape(text[last : match.start()]))
        pieces.append(f"<mark>{html.escape(match.group(0))}</mark>")
        last = match.end()
    if not matched:
        return None
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
