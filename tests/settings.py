"""Test settings: the real settings, with a private data directory per run."""
from __future__ import annotations

import os
import tempfile

os.environ["JMAP_DATADIR"] = tempfile.mkdtemp(prefix="jmap-test-data-")
os.environ.setdefault("BASEURL", "http://testserver")

from jmapsite.settings import *  # noqa: F403

# Fast password hashing in tests only; production keeps Django's PBKDF2 default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A data type that exists only in tests, to exercise the generic /get /changes
# /set /query /queryChanges engine before the mail types plug into it.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.sampletypes"]  # noqa: F405
