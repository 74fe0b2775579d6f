"""A quick initial-sync figure on a subset of the bench mailbox, for iterating.

Usage: .venv/bin/python bench/_mail_quick.py HOST PORT [--folders Archive,Sent] [--profile FILE] [--noop N]
(Dovecot from bench/_mail_dovecot_serve.py). Runs bench/_mail_sync.py's
main() in a fresh JMAP_DATADIR with LIST narrowed to `--folders`, prints
its JSON result's figures.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

CHILD = r"""
import os, sys
sys.path.insert(0, {bench!r}); sys.path.insert(0, {root!r})
import django
django.setup()
import backends.imap.sync as sync
keep = set(os.environ["QUICK_FOLDERS"].split(","))
original = sync.folders_list
sync.folders_list = lambda **kw: [f for f in original(**kw) if f.name in keep]
import _mail_sync
from backends.imap import sync_commands
_install = _mail_sync.phases_install
def phases_install():
    _install()
    _mail_sync._timed(sync_commands, "fetch_parse", "FETCH parse (fetch_parse, fast path + fallback)")
_mail_sync.phases_install = phases_install
sys.argv = ["_mail_sync"] + sys.argv[1:]
_mail_sync.main()
"""


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port")
    parser.add_argument("--folders", default="Archive,Sent")
    parser.add_argument("--profile", default="")
    parser.add_argument("--noop", default="1")
    opts = parser.parse_args()
    datadir = tempfile.mkdtemp(prefix="jmap-quick-")
    env = dict(os.environ, JMAP_DATADIR=datadir, DJANGO_SETTINGS_MODULE="jmapsite.settings",
               JMAP_LOG_LEVEL="WARNING", QUICK_FOLDERS=opts.folders)
    args = [sys.executable, "-c", CHILD.format(bench=str(BENCH), root=str(ROOT)), opts.host, opts.port,
            "bench@example.test", "bench-mail-secret", "--noop", opts.noop]
    if opts.profile:
        args += ["--profile", opts.profile]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(f"datadir {datadir}: {result['locations']} messages, initial {result['initial_seconds']:.2f} s, "
          f"noop {[round(n['seconds'] * 1000) for n in result['noop']]} ms; "
          f"sync process CPU {cpu:.2f} s (incl. setup), load {os.getloadavg()[0]:.1f}")
    for label, seconds in sorted(result["phases"].items(), key=lambda item: -item[1]):
        print(f"   {seconds:7.2f} s  {label}")


if __name__ == "__main__":
    main()
