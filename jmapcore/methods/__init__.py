"""One module per data type; importing this package registers every handler."""
from __future__ import annotations

import jmapcore.methods.blob  # noqa: F401
from jmapcore.methods import core  # noqa: F401
