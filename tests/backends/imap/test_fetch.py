"""Raw messages and headers on demand (BODY.PEEK), the on-disk cache, and a
message gone from the server."""
from __future__ import annotations

import pytest
from django.conf import settings

from backends.base import BackendError
from backends.imap.fetch import email_headers_fetch, email_raw_fetch, message_cache_path
from tests.backends.imap.conftest import Mailstore, message


def test_raw_and_headers_are_fetched_without_setting_seen(alice_mail: Mailstore) -> None:
    raw = message("Whole thing", body="line one\r\nline two\r\n")
    alice_mail.append(raw)
    alice_mail.sync()
    email = alice_mail.email_by_subject("Whole thing")
    headers = email_headers_fetch(account=alice_mail.account, email=email)
    assert headers.startswith(b"From: Bob") and headers.endswith(b"\r\n\r\n") and b"line one" not in headers
    assert email_raw_fetch(account=alice_mail.account, email=email) == raw
    path = message_cache_path(account=alice_mail.account, blob_id=email.blob_id)
    assert path is not None and path.read_bytes() == raw
    assert str(path).startswith(str(settings.DATADIR / "messages"))
    with alice_mail.client() as other:
        other.select_folder("INBOX", readonly=True)
        assert b"\\Seen" not in other.get_flags([1])[1]


def test_a_message_gone_from_the_server_is_a_permanent_error(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Going"))
    alice_mail.sync()
    email = alice_mail.email_by_subject("Going")
    with alice_mail.client() as other:
        other.select_folder("INBOX")
        other.delete_messages([1])
        other.expunge()
    with pytest.raises(BackendError) as failure:
        email_raw_fetch(account=alice_mail.account, email=email)
    assert failure.value.permanent
