"""The embedded start's file queue (jmapsite.queue_files): a consumer listing
the queue folder while producers write never takes a message half-written.

kombu's own filesystem transport creates the message file under its final name
and writes it afterwards; a consumer that lists the folder in between reads an
empty file and Celery stops the worker ("Unrecoverable error: JSONDecodeError").
Real kombu connections, real files, producer and consumer threads as in the
embedded worker (beat and the IDLE listener produce, the worker consumes).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from kombu import Connection
from kombu.transport import get_transport_cls

from jmapsite.queue_files import Transport, transport_install

MESSAGES = 300
BODY = "x" * 256 * 1024  # large enough that a write takes a while


def connection(folder: Path) -> Connection:
    return Connection(
        "filesystem://localhost/",
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            # The exchange tables (kombu's default is ./control, shared by everything started here).
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.001,
        },
    )


def test_filesystem_urls_use_the_whole_file_transport() -> None:
    transport_install()
    assert get_transport_cls("filesystem") is Transport


def test_a_busy_consumer_only_ever_reads_whole_messages(tmp_path: Path) -> None:
    transport_install()
    (tmp_path / "queue").mkdir()
    received: list[int] = []
    failures: list[BaseException] = []
    # Declared once before the threads start: this test is about message files,
    # not about kombu creating its exchange table file.
    with connection(tmp_path) as conn:
        conn.SimpleQueue("jobs").close()

    def produce(offset: int) -> None:
        try:
            with connection(tmp_path) as conn:
                queue = conn.SimpleQueue("jobs")
                for n in range(offset, MESSAGES, 2):
                    queue.put({"n": n, "body": BODY})
                queue.close()
        except BaseException as exc:  # reported below
            failures.append(exc)

    def consume() -> None:
        try:
            with connection(tmp_path) as conn:
                queue = conn.SimpleQueue("jobs")
                while len(received) < MESSAGES:
                    message = queue.get(block=True, timeout=60)
                    assert message.payload["body"] == BODY
                    received.append(int(message.payload["n"]))
                    message.ack()
                queue.close()
        except BaseException as exc:  # reported below, with the thread's cause
            failures.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    producers = [threading.Thread(target=produce, args=(offset,)) for offset in (0, 1)]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join(timeout=120)
    consumer.join(timeout=120)
    assert not failures, failures
    assert sorted(received) == list(range(MESSAGES))
    # Nothing half-written is left behind either.
    assert [name for name in os.listdir(tmp_path / "queue") if name.endswith(".part")] == []
