"""Test settings: the real settings, with a private data directory per run."""
from __future__ import annotations

import os
import tempfile

os.environ["JMAP_DATADIR"] = tempfile.mkdtemp(prefix="jmap-test-data-")
os.environ.setdefault("BASEURL", "http://testserver")

from jmapsite.settings import *  # noqa: E402,F403

# Fast password hashing in tests only; production keeps Django's PBKDF2 default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
