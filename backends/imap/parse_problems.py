"""Messages the sync could not parse, reported on their account (issue 8).

A message whose parsing fails is cached with what is known
(backends.imap.messages.message_fallback) so that it never blocks its folder;
this module tells the operator about it: a WARNING on the "jmap.sync.imap"
log (account id, folder, UID and the exception, never message content beyond
the error text) and an entry in the account's ``sync_progress`` under
``parseProblems`` (shown by the management API as ``syncProgress`` and in
the admin), newest last, at most PARSE_PROBLEMS_KEPT entries, with
``parseProblemCount`` counting all of them.
"""
from __future__ import annotations

import logging
from typing import Any

from accounts.models import Account

log = logging.getLogger("jmap.sync.imap")

PARSE_PROBLEM_MAX = 300
PARSE_PROBLEMS_KEPT = 50


def message_parse_problems_record(*, account: Account, progress: dict[str, Any], mailbox_name: str,
                                  problems: list[tuple[int, str]]) -> None:
    """Add ``problems`` ((uid, what failed) of one folder) to ``progress`` (the
    sync's progress dict, written to Account.sync_progress by the caller) and
    log each one."""
    kept = list(progress.get("parseProblems") or [])
    for uid, problem in problems:
        log.warning("account %s: message %s of folder %r cached with fallback values: %s",
                    account.accountid, uid, mailbox_name, problem[:PARSE_PROBLEM_MAX])
        kept.append({"mailbox": mailbox_name, "uid": uid, "problem": problem[:PARSE_PROBLEM_MAX]})
    progress["parseProblems"] = kept[-PARSE_PROBLEMS_KEPT:]
    progress["parseProblemCount"] = int(progress.get("parseProblemCount") or 0) + len(problems)
