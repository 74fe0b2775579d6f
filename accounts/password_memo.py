"""A per-process memo of recently verified Basic credentials.

Django hashes passwords with PBKDF2 on purpose slowly (hundreds of ms), which
a JMAP client using Basic auth would pay on every request. After a
successful check we remember, in this process only, that the password whose
keyed digest is D matched the stored hash H. A later request with the same
login and password is accepted without PBKDF2 only while the pool's stored
hash is still exactly H — a password change (any process) changes H and the
memo no longer applies. Nothing secret is kept: the digest is an HMAC under
the installation's SECRET_KEY, entries expire after MEMO_SECONDS, and the
memo is bounded.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.utils.crypto import constant_time_compare, salted_hmac

MEMO_SECONDS = 300.0
MEMO_MAX = 10_000

_lock = threading.Lock()
_memo: OrderedDict[str, tuple[str, float]] = OrderedDict()


def _digest(login: str, password: str) -> str:
    return salted_hmac("jmap-proxy.password-memo", f"{login}\x00{password}", algorithm="sha256").hexdigest()


def password_memo_matches(*, login: str, password: str, password_hash: str) -> bool:
    """Whether this login/password was verified against exactly `password_hash` lately."""
    key = _digest(login, password)
    now = time.monotonic()
    with _lock:
        entry = _memo.get(key)
        if entry is None:
            return False
        remembered, expires = entry
        if expires < now:
            del _memo[key]
            return False
    return constant_time_compare(remembered, password_hash)


def password_memo_remember(*, login: str, password: str, password_hash: str) -> None:
    key = _digest(login, password)
    with _lock:
        _memo[key] = (password_hash, time.monotonic() + MEMO_SECONDS)
        _memo.move_to_end(key)
        while len(_memo) > MEMO_MAX:
            _memo.popitem(last=False)


def password_memo_clear() -> None:
    with _lock:
        _memo.clear()
