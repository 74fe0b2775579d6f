"""The status files long-running listeners leave in $JMAP_DATADIR/run/ for /healthz and the dashboard."""
from __future__ import annotations

from pathlib import Path


def status_file_replace(path: Path, text: str) -> None:
    """Write `text` to `path` whole: through a temporary file renamed over it, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
