"""vCard ↔ JSContact conversion figures (issue 10 item 2), in process, no server.

Usage: .venv/bin/python bench/jscontact.py [--runs 5] [--rounds 20]

Over the vCard corpus of tests/jmapcore/contacts/jscontact/corpus/ (the shapes
Apple, Google, Outlook, Thunderbird, Nextcloud and DAVx5 write, RFC examples),
--rounds passes over every card per run, --runs runs; prints the median (min,
max) per card of:
- card_read: vCard text → JSContact card (what a CardDAV sync costs per card);
- card_write afresh: JSContact → vCard text without a previous card (a create);
- card_write unchanged: with the previous text, nothing changed (bytes kept);
- card_write one email changed: with the previous text (a JMAP update);
- card_search_fields: the cache's query columns.
Then one large card (2,000 EMAIL lines) read and rewritten with one change, to
show the cost grows with the card, not faster. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jmapcore.contacts.jscontact import card_read, card_search_fields, card_write  # noqa: E402

CORPUS = ROOT / "tests" / "jmapcore" / "contacts" / "jscontact" / "corpus"


def _per_item(action: Callable[[], None], items: int, runs: int) -> tuple[float, float, float]:
    """Median, min and max microseconds per item of `action` (which handles `items` items)."""
    figures = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        figures.append((time.perf_counter() - start) / items * 1e6)
    return statistics.median(figures), min(figures), max(figures)


def _print(label: str, figures: tuple[float, float, float]) -> None:
    median, low, high = figures
    print(f"  {label:<34} {median:9.1f} µs/card  ({low:.1f}-{high:.1f})  ≈ {1e6 / median:8.0f} cards/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    texts = [path.read_bytes().decode("utf-8", "replace") for path in sorted(CORPUS.glob("*.vcf"))]
    readings = [card_read(text) for text in texts]
    changed = []
    for reading in readings:
        card = copy.deepcopy(reading.card)
        if card.get("emails"):
            card["emails"][next(iter(card["emails"]))]["address"] = "changed@example.com"
        changed.append(card)
    count = len(texts) * args.rounds
    print(f"jscontact conversion — {len(texts)} corpus cards x {args.rounds} rounds x {args.runs} runs; "
          f"Python {platform.python_version()} on {platform.machine()}")

    def read_all() -> None:
        for _ in range(args.rounds):
            for text in texts:
                card_read(text)

    def write_fresh() -> None:
        for _ in range(args.rounds):
            for reading in readings:
                card_write(reading.card, previous_text=None, version=reading.version)

    def write_unchanged() -> None:
        for _ in range(args.rounds):
            for text, reading in zip(texts, readings, strict=True):
                card_write(reading.card, previous_text=text, version=reading.version)

    def write_changed() -> None:
        for _ in range(args.rounds):
            for text, reading, card in zip(texts, readings, changed, strict=True):
                card_write(card, previous_text=text, version=reading.version)

    def search_fields() -> None:
        for _ in range(args.rounds):
            for reading in readings:
                card_search_fields(reading.card)

    _print("card_read", _per_item(read_all, count, args.runs))
    _print("card_write afresh", _per_item(write_fresh, count, args.runs))
    _print("card_write unchanged (previous)", _per_item(write_unchanged, count, args.runs))
    _print("card_write one email changed", _per_item(write_changed, count, args.runs))
    _print("card_search_fields", _per_item(search_fields, count, args.runs))

    for lines in (2_000, 8_000):
        big = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big\r\nN:Big;;;;\r\n"
               + "".join(f"EMAIL;TYPE=INTERNET:user{i}@example.com\r\n" for i in range(lines)) + "END:VCARD\r\n")
        big_card = card_read(big).card
        big_changed = copy.deepcopy(big_card)
        big_changed["emails"]["e1"]["address"] = "changed@example.com"

        def read_big(text: str = big) -> None:
            card_read(text)

        def write_big(text: str = big, card: dict[str, Any] = big_changed) -> None:
            card_write(card, previous_text=text, version="3.0")

        read_ms = _per_item(read_big, 1, args.runs)[0] / 1000
        write_ms = _per_item(write_big, 1, args.runs)[0] / 1000
        print(f"  one card of {lines:,} EMAIL lines: card_read {read_ms:.1f} ms, "
              f"card_write with one change {write_ms:.1f} ms (median)")


if __name__ == "__main__":
    main()
