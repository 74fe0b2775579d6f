"""CPU of each stage a fetch process spends on the first sync's 20,000 messages.

Usage: .venv/bin/python bench/first_sync_stages.py [--rounds 7]

The corpus is bench/first_sync.py's (20,000 messages in 13 folders, on a
private Dovecot started from its cached maildir). Every folder is fetched
once, in batches of the sync's BATCH_SIZE with the sync's own FETCH items
(backends.imap.messages._fetch_items): imaplib's records, as a fetch process
(backends.imap.fetch_child) receives them. Dovecot is then stopped and, in
this process, each stage runs --rounds times over all the records:

- parse: backends.imap.fetch_parse.fetch_parse (the FETCH tokenizer and
  imapclient's per-item conversions);
- prepare: backends.imap.fetch_prepare.message_prepare_fast with one memo
  per round (one fetch process's memo over the whole sync);
- pack: message_pack + pickle of each batch and unpickle + message_unpack,
  what the pipe to the writer costs on both sides.

Figures are CPU seconds of this thread (time.thread_time), the least and the
median of the rounds, so other load on the machine stretches them little;
the load average is printed beside them. This is the in-process stage
harness of the commits that cut these stages (issue 9); the whole sync, as a
user meets it, is bench/first_sync.py.
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))
# A private data directory: django.setup() must not touch the default one.
os.environ["JMAP_DATADIR"] = tempfile.mkdtemp(prefix="jmap-bench-stages-")
os.environ["DJANGO_SETTINGS_MODULE"] = "jmapsite.settings"

import django  # noqa: E402

django.setup()

import _mail_seed  # noqa: E402
import first_sync  # noqa: E402
from imapclient import IMAPClient  # noqa: E402

from backends.imap.fetch_child import message_pack, message_unpack  # noqa: E402
from backends.imap.fetch_parse import fetch_parse  # noqa: E402
from backends.imap.fetch_prepare import PrepareMemo, message_prepare_fast  # noqa: E402
from backends.imap.message_store import PreparedMessage, row_adapters  # noqa: E402
from backends.imap.messages import BATCH_SIZE, _fetch_items  # noqa: E402
from backends.imap.sync_commands import Capabilities, folder_examine, sequence_set_format, uid_search  # noqa: E402


def records_fetch() -> list[list[Any]]:
    """imaplib's records of every batch of every folder of the seeded corpus."""
    first_sync.seed_configure()
    server, _seed = _mail_seed.seeded_dovecot()
    try:
        client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=60)
        client.login(_mail_seed.LOGIN, _mail_seed.PASSWORD)
        caps = Capabilities.of(client)
        items = "(UID " + " ".join(_fetch_items(caps)) + ")"
        batches: list[list[Any]] = []
        for _flags, _delimiter, name in client.list_folders():
            folder_examine(client=client, caps=caps, name=name)
            uids = sorted(uid_search(client=client, caps=caps, criteria="ALL"), reverse=True)
            for start in range(0, len(uids), BATCH_SIZE):
                typ, data = client._imap.uid("FETCH", sequence_set_format(uids[start : start + BATCH_SIZE]), items)
                assert typ == "OK", typ
                batches.append(list(data))
        client.logout()
        return batches
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


def _cpu(work: Callable[[], object]) -> float:
    start = time.thread_time()
    work()
    return time.thread_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    try:
        stages_measure(rounds=args.rounds)
    finally:
        shutil.rmtree(os.environ["JMAP_DATADIR"], ignore_errors=True)


def stages_measure(*, rounds: int) -> None:
    batches = records_fetch()
    parsed = [fetch_parse(batch) for batch in batches]
    total = sum(map(len, parsed))
    adapters = row_adapters()

    def prepare() -> list[list[PreparedMessage | None]]:
        memo = PrepareMemo()
        return [[message_prepare_fast(uid=data[b"UID"], data=data, preview=None, adapters=adapters, memo=memo)
                 for data in batch.values()] for batch in parsed]  # fmt: skip

    prepared = prepare()
    fallbacks = sum(1 for batch in prepared for message in batch if message is None)
    ready = [[message for message in batch if message is not None] for batch in prepared]

    def pack() -> None:
        for batch in ready:
            sent = pickle.dumps([message_pack(message) for message in batch])  # what Connection.send pickles
            [message_unpack(row) for row in pickle.loads(sent)]  # noqa: S301 - our own bytes, just made

    stages: dict[str, Callable[[], object]] = {
        "parse (fetch_parse)": lambda: [fetch_parse(batch) for batch in batches],
        "prepare (message_prepare_fast)": prepare,
        "pack (pickle both ways)": pack,
    }
    figures: dict[str, list[float]] = {name: [] for name in stages}
    load_before = first_sync.load_average()
    for _round in range(rounds):
        for name, work in stages.items():  # interleaved, so a burst of load spreads over all stages
            figures[name].append(_cpu(work))
    print(f"{total:,} messages in {len(batches)} FETCH batches; {fallbacks} prepared by the reference route")
    for name, values in figures.items():
        print(f"  {name:32s} CPU min {min(values):.3f} s, median {statistics.median(values):.3f} s "
              f"({rounds} rounds)")  # fmt: skip
    print(f"load average {load_before} -> {first_sync.load_average()}")


if __name__ == "__main__":
    main()
