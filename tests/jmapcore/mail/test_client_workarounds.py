"""Real clients' habits, accepted by default and refused with JMAP_STRICT=1
(jmapcore.strictness, README "Real clients' habits"), through the API against
Dovecot. Every other RFC check stays strict in both modes."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.limits import CORE_CAPABILITY
from jmapcore.mail.capability import MAIL_CAPABILITY
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses, problem
from tests.jmapcore.mail.conftest import MailUser, message

STRICT = pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])


def _call(user: MailUser, name: str, using: list[str], **arguments: Any) -> tuple[str, dict[str, Any]]:
    body = jmap_request([name, {"accountId": user.account_id, **arguments}, "c"], using=using)
    [(response_name, result, _call_id)] = method_responses(api_post(user.client, user.auth, body))
    return response_name, result


def _flags(user: MailUser) -> set[bytes]:
    with user.imap() as imap:
        imap.select_folder("INBOX", readonly=True)
        [flags] = imap.get_flags(imap.search("ALL")).values()
        return set(flags)


@STRICT
def test_keyword_patched_to_false(alice_mail: MailUser, settings: Any, strict: bool) -> None:
    settings.JMAP_STRICT = strict
    alice_mail.deliver(message(subject="read it"), flags=("\\Seen", "\\Flagged"))
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    result = alice_mail.ok("Email/set", update={email_id: {"keywords/$seen": False}})
    if strict:
        assert result["notUpdated"][email_id]["type"] == "invalidPatch"
        assert b"\\Seen" in _flags(alice_mail)
    else:
        assert result["updated"] == {email_id: None}, result
        assert _flags(alice_mail) == {b"\\Flagged"}
        [email] = alice_mail.ok("Email/get", ids=[email_id], properties=["keywords"])["list"]
        assert email["keywords"] == {"$flagged": True}
        assert alice_mail.mailboxes()["inbox"]["unreadEmails"] == 1
    # Values other than true, null (and false when lenient) stay refused.
    for value in ("yes", 0, {"x": 1}):
        refused = alice_mail.ok("Email/set", update={email_id: {"keywords/$flagged": value}})
        assert refused["notUpdated"][email_id]["type"] == "invalidPatch"
    assert b"\\Flagged" in _flags(alice_mail)


@STRICT
@pytest.mark.parametrize(
    ("method", "arguments"),
    [
        ("Identity/get", {"ids": None}),
        ("EmailSubmission/get", {"ids": None}),
        ("VacationResponse/get", {"ids": None}),
        ("Quota/get", {"ids": None}),
    ],
)
def test_mail_in_using_covers_submission_vacation_and_quota(
    alice_mail: MailUser, settings: Any, strict: bool, method: str, arguments: dict[str, Any]
) -> None:
    settings.JMAP_STRICT = strict
    name, result = _call(alice_mail, method, [CORE_CAPABILITY, MAIL_CAPABILITY], **arguments)
    if strict:
        assert (name, result["type"]) == ("error", "unknownMethod")
    else:
        assert name == method, result
        assert result["accountId"] == alice_mail.account_id
    # Without mail, with nothing, or naming a foreign account: refused in both modes.
    for using in ([CORE_CAPABILITY], []):
        name, result = _call(alice_mail, method, using, **arguments)
        assert (name, result["type"]) == ("error", "unknownMethod")


@STRICT
def test_mail_in_using_does_not_open_another_login_s_account(
    alice_mail: MailUser, bob_mail: MailUser, settings: Any, strict: bool
) -> None:
    settings.JMAP_STRICT = strict
    body = jmap_request(["Identity/get", {"accountId": bob_mail.account_id}, "c"],
                        using=[CORE_CAPABILITY, MAIL_CAPABILITY])
    [(name, result, _)] = method_responses(api_post(alice_mail.client, alice_mail.auth, body))
    assert name == "error" and result["type"] in ("unknownMethod", "accountNotFound")


@STRICT
def test_an_unknown_capability_still_fails_the_request(alice_mail: MailUser, settings: Any, strict: bool) -> None:
    settings.JMAP_STRICT = strict
    body = jmap_request(
        ["Identity/get", {"accountId": alice_mail.account_id}, "c"],
        using=[CORE_CAPABILITY, MAIL_CAPABILITY, "urn:example:not-a-capability"],
    )
    problem(api_post(alice_mail.client, alice_mail.auth, body), "unknownCapability")


# jmapclient (PyPI) sends its query window inside every Comparator.
CLIENT_COMPARATOR = {"property": "receivedAt", "isAscending": False, "anchorOffset": 0, "calculateTotal": False,
                     "position": 0}


@STRICT
def test_comparators_with_unknown_keys(alice_mail: MailUser, settings: Any, strict: bool) -> None:
    settings.JMAP_STRICT = strict
    alice_mail.deliver(message(subject="older"))
    alice_mail.deliver(message(subject="newer"))
    alice_mail.sync()
    name, result = _call(alice_mail, "Email/query", [CORE_CAPABILITY, MAIL_CAPABILITY], sort=[CLIENT_COMPARATOR])
    mailbox_name, mailbox_result = _call(
        alice_mail, "Mailbox/query", [CORE_CAPABILITY, MAIL_CAPABILITY],
        sort=[{"property": "name", "isAscending": True, "position": 0}],
    )
    if strict:
        assert (name, result["type"]) == ("error", "invalidArguments")
        assert (mailbox_name, mailbox_result["type"]) == ("error", "invalidArguments")
    else:
        assert name == "Email/query", result
        assert len(result["ids"]) == 2
        plain = alice_mail.ok("Email/query", sort=[{"property": "receivedAt", "isAscending": False}])
        assert result["ids"] == plain["ids"]
        assert mailbox_name == "Mailbox/query", mailbox_result
        assert len(mailbox_result["ids"]) == len(alice_mail.mailboxes())
    # Known keys keep their checks in both modes.
    for bad in (
        {"property": "receivedAt", "isAscending": "no", "position": 0},
        {"property": "hasKeyword", "anchorOffset": 0},
        {"property": "receivedAt", "keyword": "$seen"},
    ):
        name, result = _call(alice_mail, "Email/query", [CORE_CAPABILITY, MAIL_CAPABILITY], sort=[bad])
        assert (name, result["type"]) == ("error", "invalidArguments"), bad
    name, result = _call(alice_mail, "Email/query", [CORE_CAPABILITY, MAIL_CAPABILITY],
                         sort=[{"property": "nonsense", "position": 0}])
    assert (name, result["type"]) == ("error", "unsupportedSort")
