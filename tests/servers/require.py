"""Whether a missing test server skips or fails.

The suite starts real servers (Dovecot, OpenBao, PostgreSQL, Redis, the SMTP
server delivering into Dovecot) from binaries installed on the machine. On a
developer's laptop without, say, Dovecot, the tests that need it are skipped
with the reason, so the rest of the suite still runs. Where the servers are
supposed to be there, a missing one must not turn into a quiet skip that
makes a green run out of tests that never ran:

- `make test` installs the servers (test-system-deps) and exports
  JMAP_TEST_REQUIRE_SERVERS=1 to pytest;
- CI systems set CI (GitHub Actions, GitLab CI, ... set CI=true).

When either variable is set to anything but "", "0", "false" or "no"
(any case), `server_missing` fails the test instead of skipping it.
"""
from __future__ import annotations

import os
from typing import NoReturn

import pytest

# The variables that make a missing server an error, in the order they are reported.
REQUIRE_VARIABLES = ("JMAP_TEST_REQUIRE_SERVERS", "CI")
_OFF = frozenset({"", "0", "false", "no"})


def servers_required_by() -> str | None:
    """The name of the variable that requires the servers, None when none does."""
    for name in REQUIRE_VARIABLES:
        if os.environ.get(name, "").strip().lower() not in _OFF:
            return name
    return None


def server_missing(reason: str) -> NoReturn:
    """Skip the test (and every test sharing the fixture) because of `reason`,
    or fail it when the servers are required (see the module docstring)."""
    required_by = servers_required_by()
    if required_by is not None:
        pytest.fail(f"{reason} [a missing test server fails the run because {required_by} is set]", pytrace=False)
    pytest.skip(reason)
