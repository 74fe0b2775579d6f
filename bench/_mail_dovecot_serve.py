"""Keep the seeded bench Dovecot running for quick iteration (bench/_mail_quick.py).

Usage: .venv/bin/python bench/_mail_dovecot_serve.py STATEFILE   (stops on SIGTERM)
Writes {"host", "port"} to STATEFILE once Dovecot serves the seeded mailbox.
"""
from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _mail_seed import seeded_dovecot  # noqa: E402


def main() -> None:
    state = Path(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    server, _ = seeded_dovecot()
    try:
        state.write_text(json.dumps({"host": server.host, "port": server.imap_port}))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
        state.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
