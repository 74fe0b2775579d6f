"""`manage.py runproxy` with the JMAP port on 127.0.0.1, for bench/mail.py.

runproxy binds the public JMAP port to 0.0.0.0 by design; benchmarks stay on
loopback, so this wrapper runs the very same command (migrations, supervisor,
web + worker + beat) with only the web process's JMAP address changed.
Environment as for runproxy (JMAP_DATADIR, JMAP_PORT, JMAP_MGMT_PORT, ...).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    import jmapsite.process_specs as process_specs

    original = process_specs.web_argv

    def loopback_web_argv(**kwargs: Any) -> list[str]:
        return original(**{**kwargs, "jmap_host": "127.0.0.1"})

    # runproxy builds the children's command lines (process_specs) before it
    # execs into the supervisor, so the patch reaches the web process.
    process_specs.web_argv = loopback_web_argv
    call_command("runproxy", *sys.argv[1:])


if __name__ == "__main__":
    main()
