"""SearchSnippet/get (RFC 8621 §5)."""
from __future__ import annotations

from tests.jmapcore.mail.conftest import MailUser, message


def test_terms_are_marked_in_subject_and_preview(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="Quarterly <report> ready", body="The report is attached.\r\n"))
    alice_mail.deliver(message(subject="Lunch", body="Nothing to see.\r\n"))
    alice_mail.sync()
    query = alice_mail.ok("Email/query", filter={"text": "report"}, sort=[{"property": "subject"}])
    [email_id] = query["ids"]
    [lunch] = alice_mail.ok("Email/query", filter={"subject": "lunch"})["ids"]
    result = alice_mail.ok("SearchSnippet/get", filter={"text": "report"}, emailIds=[email_id, lunch, "nope"])
    snippets = {item["emailId"]: item for item in result["list"]}
    assert snippets[email_id]["subject"] == "Quarterly &lt;<mark>report</mark>&gt; ready"
    assert "<mark>report</mark>" in snippets[email_id]["preview"]
    assert snippets[lunch] == {"emailId": lunch, "subject": None, "preview": None}
    assert result["notFound"] == ["nope"]
    negated = alice_mail.ok(
        "SearchSnippet/get", filter={"operator": "NOT", "conditions": [{"text": "report"}]}, emailIds=[email_id]
    )
    assert negated["list"][0]["subject"] is None
    assert alice_mail.error("SearchSnippet/get", filter=None)["type"] == "invalidArguments"
