"""One module per data type; importing this package registers every handler."""
from __future__ import annotations

from jmapcore.methods import core  # noqa: F401
