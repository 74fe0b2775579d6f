"""Multistatus parsing (backends.carddav.davxml): entities are never expanded, no
file or network is read, and the answer is read in linear time."""
from __future__ import annotations

import pytest

from backends.base import BackendError
from backends.carddav.davxml import DAV, error_precondition, multistatus_parse, qname

BASE = "http://dav.example.test/alice/contacts/"


def test_a_multistatus_with_sync_token_and_removals() -> None:
    body = (b'<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>/alice/contacts/a.vcf'
            b'</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK'
            b'</d:status></d:propstat></d:response><d:response><d:href>/alice/contacts/b.vcf</d:href>'
            b'<d:status>HTTP/1.1 404 Not Found</d:status></d:response><d:sync-token>tok-2</d:sync-token>'
            b'</d:multistatus>')
    found = multistatus_parse(body, base=BASE, what="REPORT")
    assert found.sync_token == "tok-2"
    first, second = found.responses
    assert first.href == BASE + "a.vcf" and first.found and first.text(qname(DAV, "getetag")) == '"1"'
    assert second.href == BASE + "b.vcf" and not second.found


def test_entities_are_not_expanded() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY x SYSTEM "file:///etc/passwd">]>'
              b'<d:multistatus xmlns:d="DAV:"><d:response><d:href>/alice/contacts/a.vcf</d:href><d:propstat>'
              b'<d:prop><d:displayname>&c;&x;</d:displayname></d:prop><d:status>HTTP/1.1 200 OK</d:status>'
              b'</d:propstat></d:response></d:multistatus>')
    response = multistatus_parse(laughs, base=BASE, what="PROPFIND").responses[0]
    name = response.text(qname(DAV, "displayname"))
    assert "aaaaaaaaaa" not in name and "root:" not in name


def test_not_xml_is_a_backend_error() -> None:
    with pytest.raises(BackendError) as failed:
        multistatus_parse(b"<html>502 Bad Gateway", base=BASE, what="PROPFIND")
    assert "not XML" in str(failed.value)


def test_precondition_of_an_error_body() -> None:
    body = (b'<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
            b"<C:no-uid-conflict><D:href>/alice/contacts/x.vcf</D:href></C:no-uid-conflict></D:error>")
    assert error_precondition(body) == "no-uid-conflict"
    assert error_precondition(b"Conflict") is None
