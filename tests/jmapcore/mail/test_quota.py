"""Quota/get, /changes, /query (RFC 9425) from a Dovecot with the quota plugin."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from backends.imap.pool import imap_pool_close_all
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.mail.methods.quota import QUOTA_CAPABILITY
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.jmapcore.mail.conftest import MailUser, message
from tests.servers.dovecot import DovecotFactory, DovecotOptions

QUOTA_CONFIG = "\n".join(
    [
        "mail_plugins = $mail_plugins quota",
        "protocol imap {\n  mail_plugins = $mail_plugins imap_quota\n}",
        "plugin {\n  quota = count:User quota\n  quota_rule = *:storage=10M\n  quota_rule2 = *:messages=500\n"
        "  quota_vsizes = yes\n}",
    ]
)


class QuotaUser(MailUser):
    def call(self, name: str, **arguments: object) -> tuple[str, dict[str, object]]:
        args = {"accountId": self.account_id, **arguments}
        body = jmap_request([name, args, "c0"], using=[CORE_CAPABILITY, QUOTA_CAPABILITY])
        [(response_name, result, _call_id)] = method_responses(api_post(self.client, self.auth, body))
        return response_name, result


@pytest.fixture
def quota_user(db: None, dovecot_factory: DovecotFactory, jmap_client: Client) -> Iterator[QuotaUser]:
    server = dovecot_factory(DovecotOptions(extra_config=QUOTA_CONFIG))
    yield QuotaUser(client=jmap_client, dovecot=server, name="quinn")
    imap_pool_close_all()


def test_quotas_follow_the_server(quota_user: QuotaUser) -> None:
    quotas = {quota["resourceType"]: quota for quota in quota_user.ok("Quota/get", ids=None)["list"]}
    assert set(quotas) == {"octets", "count"}
    assert quotas["octets"]["hardLimit"] == 10 * 1024 * 1024
    assert quotas["count"] == {**quotas["count"], "used": 0, "hardLimit": 500, "scope": "account", "types": ["Mail"]}
    state = quota_user.ok("Quota/get", ids=[])["state"]

    quota_user.deliver(message(subject="counts against the quota", body="x" * 4000))
    changes = quota_user.ok("Quota/changes", sinceState=state)
    assert sorted(changes["updated"]) == sorted(quota["id"] for quota in quotas.values())
    [count] = quota_user.ok("Quota/get", ids=[quotas["count"]["id"]], properties=["used"])["list"]
    assert count["used"] == 1

    by_type = quota_user.ok("Quota/query", filter={"resourceType": "octets"})
    assert by_type["ids"] == [quotas["octets"]["id"]]
    assert quota_user.ok("Quota/query", filter={"type": "Calendar"})["ids"] == []


def test_server_without_quota_has_none(alice_mail: MailUser, jmap_client: Client) -> None:
    body = jmap_request(["Quota/get", {"accountId": alice_mail.account_id, "ids": None}, "c0"],
                        using=[CORE_CAPABILITY, QUOTA_CAPABILITY])
    [(name, result, _)] = method_responses(api_post(jmap_client, alice_mail.auth, body))
    assert name == "Quota/get" and result["list"] == []
