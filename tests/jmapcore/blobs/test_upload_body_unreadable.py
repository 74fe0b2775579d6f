"""An upload whose body stops arriving (RFC 8620 §6.1): the client's failure, answered 400, nothing kept.

A large upload starts before its body is in (jmapsite/body_pipe.py)
and reads it as it arrives; a client that goes away, or stops sending,
mid-body makes the read fail (jmapsite/body_pipe.py raises OSError, which
Django's request.read turns into UnreadablePostError).
That is a 400 problem, not the 500 "could not be stored" of a full disk, no
blob is kept, and the upload's concurrency slot is given back.
"""
from __future__ import annotations

import io
import json

from django.test import RequestFactory

from jmapcore.blob_views import upload_view
from jmapcore.concurrency import slot_acquire, slot_release
from jmapcore.limits import CoreLimits
from jmapcore.models import UploadedBlob
from tests.personas import Persona


class _LeavingBody(io.RawIOBase):
    """alice's body: some octets, then the connection is gone."""

    def __init__(self) -> None:
        super().__init__()
        self._given = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._given:
            raise OSError("the client went away before the whole request body arrived")
        self._given = True
        view = memoryview(buffer).cast("B")
        view[:10] = b"a" * 10
        return 10


def test_a_body_that_stops_arriving_is_400_and_leaves_nothing(alice: Persona, small_limits: CoreLimits) -> None:
    request = RequestFactory().generic(
        "POST", f"/upload/{alice.account_id}/", b"", content_type="application/octet-stream",
        HTTP_AUTHORIZATION=alice.basic,
    )  # fmt: skip
    request.META["CONTENT_LENGTH"] = "900"
    request._stream = _LeavingBody()  # type: ignore[assignment]  # the body Django's request.read reads
    before = UploadedBlob.objects.count()
    response = upload_view(request, alice.account_id)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "stopped arriving" in json.loads(response.content)["detail"]
    assert UploadedBlob.objects.count() == before
    # The slot came back: both of the login's maxConcurrentUpload slots can be taken.
    held = [slot_acquire(scope="upload", pool_id=alice.pool.pk, limit=small_limits.maxConcurrentUpload)
            for _ in range(small_limits.maxConcurrentUpload)]  # fmt: skip
    assert all(slot is not None for slot in held)
    for slot in held:
        assert slot is not None
        slot_release(slot=slot)
