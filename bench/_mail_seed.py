"""A private Dovecot with a large, realistic mailbox for bench/mail.py.

`seeded_dovecot()` starts Dovecot as the test suite does (tests/servers/dovecot.py:
private config, 127.0.0.1, free ports, plain IMAP without TLS) and gives it one
user with SEED_TOTAL messages in 14 folders. The first run generates the
messages and APPENDs them with MULTIAPPEND (RFC 3502) and non-synchronising
literals (LITERAL+, RFC 7888) over several connections at once, then keeps a
copy of the user's maildir under SEED_ROOT/<SEED_VERSION>; later runs link
that copy into the fresh Dovecot's mail directory instead of seeding again.

Messages are generated from a fixed random seed: senders include long dotted
and dashed addresses, list bounces (VERP) and encoded-word names, list folders
carry the list's bounce address in Sender; 2-20 KB, plain text, some
multipart/alternative with HTML, some multipart/mixed with a base64
attachment, about a third replies in a thread (In-Reply-To/References,
"Re: subject"), dates spread over five years in UID order with jitter, flags
mostly \\Seen with some \\Flagged and \\Answered.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import queue
import random
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers.dovecot import DovecotOptions, DovecotServer, _mail_user, dovecot_start  # noqa: E402

SEED_VERSION = "v2-100k"  # v2: realistic long, dotted, dashed, bounce and encoded-word addresses
SEED_ROOT = Path(os.environ.get("JMAP_BENCH_SEED_DIR", "/tmp/jmap-bench-mail-seed"))
LOGIN = "bench@example.test"
PASSWORD = "bench-mail-secret"  # noqa: S105 - a throwaway test user on a private Dovecot

# 14 folders, 100,000 messages; the five special-use ones exist already (auto = subscribe).
FOLDERS: dict[str, int] = {
    "INBOX": 40_000,
    "Archive": 15_000,
    "Sent": 9_000,
    "python-list": 6_000,
    "django-list": 5_000,
    "Work": 5_000,
    "Newsletters": 5_000,
    "Trash": 4_000,
    "Work/Projects": 4_000,
    "Junk": 3_000,
    "Receipts": 1_500,
    "Drafts": 1_000,
    "Travel": 800,
    "Family": 700,
}
SEED_TOTAL = sum(FOLDERS.values())
FULL_TOTAL = SEED_TOTAL


def corpus_scale(total: int) -> None:
    """Use a mailbox of `total` messages instead of 100,000: every folder scaled
    by the same factor (INBOX stays 40 % of it), generated from its own seed
    version and kept beside the full one. Call before seeded_dovecot(); the
    module's FOLDERS, SEED_TOTAL and SEED_VERSION change."""
    global FOLDERS, SEED_TOTAL, SEED_VERSION
    if total == FULL_TOTAL:
        return
    if total < 1000 or total > FULL_TOTAL:
        raise ValueError(f"a bench mailbox holds 1,000 to {FULL_TOTAL:,} messages")
    scaled = {folder: max(1, count * total // FULL_TOTAL) for folder, count in FOLDERS.items()}
    scaled["INBOX"] += total - sum(scaled.values())  # rounding goes to the INBOX
    FOLDERS = scaled
    SEED_TOTAL = total
    SEED_VERSION = f"v2-{total}"
APPEND_BATCH = 250  # messages per MULTIAPPEND command
APPEND_CONNECTIONS = 4

_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will more can out up about into them "
    "then some could time these two may first any new like now people over only very also after year back use "
    "meeting budget release deploy server patch review invoice order shipping ticket flight hotel schedule report "
    "django python mail sync cache index query thread folder message proxy client database backend migration"
).split()
_PEOPLE = [
    ("Alice Martin", "alice@example.test"), ("Bob Chen", "bob@example.org"), ("Carol Diaz", "carol@example.net"),
    ("Dave O'Brien", "dave@example.com"), ("Erin Kowalski", "erin@example.test"), ("Frank Müller", "frank@example.de"),
    ("Grace Ho", "grace@example.org"), ("Heidi Novak", "heidi@example.net"), ("Ivan Petrov", "ivan@example.com"),
    ("Judy Smith", "judy@example.test"), ("Mallory Jones", "mallory@example.org"), ("Niaj Patel", "niaj@example.net"),
    ("Olivia Brown", "olivia@example.com"), ("Peggy Evans", "peggy@example.test"),
    ("Rupert Green", "rupert@example.org"),
    ("Sybil Clark", "sybil@example.net"), ("Trent Wilson", "trent@example.com"), ("Victor Lee", "victor@example.test"),
    # The shapes real mailboxes are full of and that made a backtracking
    # address parser stall (issue 8): long dotted and dashed local parts and
    # domains, and display names as RFC 2047 encoded words.
    ("Anna-Lena Schmidt-Oberhausen", "anna-lena.schmidt-oberhausen@mail.faculty-of-engineering.example-university.edu"),
    ("J. R. R. Tolkien-Smith", "a.very.long.dotted.name.here@x.org"),
    ("Customer Service Team (do not reply)", "no-reply-customer-service-notifications@accounts.shop-example.co.uk"),
    ("=?utf-8?q?J=C3=B6rg_Br=C3=BCckner?=", "joerg.brueckner@example.de"),
    ("=?iso-8859-1?q?Fran=E7oise_L=E9vesque?=", "francoise.levesque@exemple.fr"),
    ("=?utf-8?b?5bGx55Sw5aSq6YOO?=", "taro.yamada@example.jp"),
    ("", "dev-announce-bounces+bench=example.test@lists.example.org"),
    ("Build Bot", "ci-build-notifications-do-not-reply.project-frontend@ci.dev-tools.example.com"),
]
# Mailing-list folders: the list's bounce address (VERP, RFC 5321 §4.4) in Sender.
_LIST_SENDERS = {
    "python-list": "python-list-bounces+bench=example.test@lists.python-community.example.org",
    "django-list": "django-developers-bounces+bench=example.test@googlegroups-mirror.example.com",
    "Newsletters": "bounce-mc.us12_45678901.1234567-bench=example.test@mail123.suw11.mcsv.example.net",
}


def _mailbox(name: str, address: str) -> str:
    """One mailbox as mailers write it: a bare address, encoded words unquoted
    (RFC 2047 §5), other names quoted."""
    if not name:
        return address
    if name.startswith("=?"):
        return f"{name} <{address}>"
    return f'"{name}" <{address}>'
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[:1].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    para = " ".join(_sentence(rng, rng.randint(6, 18)) for _ in range(rng.randint(2, 6)))
    # Wrap at ~72 columns: real mail has short lines.
    line, lines = "", []
    for word in para.split(" "):
        if len(line) + len(word) > 72:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n".join(lines)


# Word-by-word generation of 700 MB of text would take minutes; messages draw
# paragraphs from a fixed pool instead (every message still differs).
_POOL_RNG = random.Random(f"{SEED_VERSION}:pool")
_PARAGRAPHS = [_paragraph(_POOL_RNG) for _ in range(4000)]


def _paragraphs(rng: random.Random, octets: int) -> str:
    out: list[str] = []
    size = 0
    while size < octets:
        block = _PARAGRAPHS[rng.randrange(len(_PARAGRAPHS))]
        out.append(block)
        size += len(block) + 4
    return "\r\n\r\n".join(out) + "\r\n"


def _imap_date(when: dt.datetime) -> str:
    return f"{when.day:02d}-{_MONTHS[when.month - 1]}-{when.year} {when:%H:%M:%S} +0000"


def _rfc5322_date(when: dt.datetime) -> str:
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return f"{days[when.weekday()]}, {when.day} {_MONTHS[when.month - 1]} {when.year} {when:%H:%M:%S} +0000"


@dataclass
class Seeded:
    mailbox: str
    flags: tuple[str, ...]
    when: dt.datetime
    raw: bytes


def folder_messages(folder: str, count: int) -> list[Seeded]:
    """The messages of one folder, oldest first (deterministic)."""
    rng = random.Random(f"{SEED_VERSION}:{folder}")
    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    span = dt.timedelta(days=5 * 365).total_seconds()
    threads: list[tuple[str, str, list[str]]] = []  # (subject, first message-id, references)
    messages: list[Seeded] = []
    for index in range(count):
        when = start + dt.timedelta(seconds=span * index / count + rng.uniform(-3600, 3600))
        when = when.replace(microsecond=0)
        name, address = rng.choice(_PEOPLE)
        to_name, to_address = ("Bench User", LOGIN) if folder != "Sent" else rng.choice(_PEOPLE)
        if folder == "Sent":
            name, address = "Bench User", LOGIN
        msgid = f"<{folder.replace('/', '.')}.{index}.{rng.getrandbits(40):x}@bench.example>"
        headers = [
            f"Message-ID: {msgid}",
            f"Date: {_rfc5322_date(when)}",
            f"From: {_mailbox(name, address)}",
            f"To: {_mailbox(to_name, to_address)}",
        ]
        if rng.random() < 0.2:
            headers.append("Cc: " + ", ".join(_mailbox(*rng.choice(_PEOPLE)) for _ in range(rng.randint(1, 4))))
        if folder in _LIST_SENDERS:
            headers.append(f"Sender: {_LIST_SENDERS[folder]}")
        if threads and rng.random() < 0.35:
            subject, _first, refs = threads[rng.randrange(max(0, len(threads) - 40), len(threads))]
            parent = refs[-1]
            refs.append(msgid)
            headers += [f"Subject: Re: {subject}", f"In-Reply-To: {parent}", "References: " + " ".join(refs[-10:-1])]
        else:
            subject = _sentence(rng, rng.randint(3, 9)).rstrip(".")
            headers.append(f"Subject: {subject}")
            threads.append((subject, msgid, [msgid]))
        if folder in ("python-list", "django-list", "Newsletters"):
            headers.append(f"List-Id: <{folder}.lists.example>")
        headers.append("MIME-Version: 1.0")
        target = int(min(20_000, max(2_200, rng.lognormvariate(8.7, 0.55))))
        kind = rng.random()
        text_octets = target - 400 if kind < 0.65 else (target - 600) // 2 if kind < 0.85 else min(3000, target // 3)
        text = _paragraphs(rng, text_octets)
        if kind < 0.65:
            headers.append("Content-Type: text/plain; charset=utf-8")
            body = text
        elif kind < 0.85:
            boundary = f"alt-{rng.getrandbits(48):x}"
            half = text
            html = "<html><body><p>" + half.replace("\r\n\r\n", "</p>\r\n<p>") + "</p></body></html>\r\n"
            headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
            body = (
                f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{half}\r\n"
                f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--{boundary}--\r\n"
            )
        else:
            boundary = f"mix-{rng.getrandbits(48):x}"
            payload = rng.randbytes(max(500, (target - len(text) - 800) * 3 // 4))
            encoded = base64.encodebytes(payload).decode().replace("\n", "\r\n")
            filename, ctype = rng.choice(
                [("report.pdf", "application/pdf"), ("photo.jpg", "image/jpeg"), ("data.xlsx", "application/zip")]
            )
            headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
            body = (
                f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                f"--{boundary}\r\nContent-Type: {ctype}; name=\"{filename}\"\r\n"
                f"Content-Disposition: attachment; filename=\"{filename}\"\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}--{boundary}--\r\n"
            )
        flags: list[str] = []
        recent = index > count - count // 20
        if folder in ("Sent", "Drafts") or (not recent and rng.random() < 0.9) or (recent and rng.random() < 0.3):
            flags.append("\\Seen")
        if rng.random() < 0.05:
            flags.append("\\Flagged")
        if folder not in ("Sent", "Drafts") and rng.random() < 0.15:
            flags.append("\\Answered")
        if folder == "Drafts":
            flags.append("\\Draft")
        raw = ("\r\n".join(headers) + "\r\n\r\n" + body).encode()
        messages.append(Seeded(mailbox=folder, flags=tuple(flags), when=when, raw=raw))
    return messages


# -- raw IMAP with LITERAL+ ----------------------------------------------------------
class RawImap:
    """A minimal IMAP connection for seeding: LOGIN, CREATE, MULTIAPPEND with LITERAL+."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.counter = 0
        greeting = self._line()
        if not greeting.startswith(b"* OK"):
            raise RuntimeError(f"unexpected greeting {greeting!r}")

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("IMAP connection closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def command(self, *parts: bytes) -> bytes:
        self.counter += 1
        tag = f"s{self.counter}".encode()
        self.sock.sendall(tag + b" " + b"".join(parts) + b"\r\n")
        while True:
            line = self._line()
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1 :].startswith(b"OK"):
                    raise RuntimeError(f"IMAP command failed: {line!r}")
                return line

    def multiappend(self, mailbox: str, messages: list[Seeded]) -> None:
        """One APPEND with many messages (RFC 3502), every literal non-synchronising."""
        parts = [b"APPEND ", _quoted(mailbox)]
        for item in messages:
            parts += [
                b" (", " ".join(item.flags).encode(), b') "', _imap_date(item.when).encode(), b'" ',
                b"{%d+}\r\n" % len(item.raw), item.raw,
            ]
        self.command(*parts)

    def close(self) -> None:
        try:
            self.command(b"LOGOUT")
        except Exception:  # noqa: S110 - the server may close first
            pass
        self.sock.close()


def _quoted(text: str) -> bytes:
    return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


def seed_append(server: DovecotServer) -> float:
    """Generate and APPEND every message; returns the seconds taken."""
    start = time.monotonic()
    admin = RawImap(server.host, server.imap_port)
    admin.command(b"LOGIN ", _quoted(LOGIN), b" ", _quoted(PASSWORD))
    for folder in FOLDERS:
        if folder in ("INBOX", "Archive", "Sent", "Trash", "Junk", "Drafts"):
            continue
        admin.command(b"CREATE ", _quoted(folder))
        admin.command(b"SUBSCRIBE ", _quoted(folder))
    admin.close()
    # Batches of every folder, in date order, interleaved: parallel connections
    # append to the same folders while UID order stays close to date order.
    jobs: queue.Queue[tuple[str, int, int] | None] = queue.Queue()
    cursors = {folder: 0 for folder in FOLDERS}
    while any(cursors[f] < n for f, n in FOLDERS.items()):
        for folder, count in FOLDERS.items():
            if cursors[folder] < count:
                jobs.put((folder, cursors[folder], min(count, cursors[folder] + APPEND_BATCH)))
                cursors[folder] += APPEND_BATCH
    generated: dict[str, list[Seeded]] = {}
    gen_lock = threading.Lock()
    errors: list[BaseException] = []
    done = [0]

    def messages_of(folder: str) -> list[Seeded]:
        with gen_lock:
            if folder not in generated:
                generated[folder] = folder_messages(folder, FOLDERS[folder])
            return generated[folder]

    def worker() -> None:
        try:
            conn = RawImap(server.host, server.imap_port)
            conn.command(b"LOGIN ", _quoted(LOGIN), b" ", _quoted(PASSWORD))
            while True:
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    break
                folder, first, last = job
                conn.multiappend(folder, messages_of(folder)[first:last])
                with gen_lock:
                    done[0] += last - first
            conn.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(APPEND_CONNECTIONS)]
    for thread in threads:
        thread.start()
    last_print = time.monotonic()
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=1)
        if time.monotonic() - last_print > 15:
            last_print = time.monotonic()
            print(f"    seeding: {done[0]:,}/{SEED_TOTAL:,} messages, {last_print - start:.0f} s", flush=True)
    if errors:
        raise errors[0]
    if done[0] != SEED_TOTAL:
        raise RuntimeError(f"seeded {done[0]} of {SEED_TOTAL} messages")
    return time.monotonic() - start


# -- the maildir cache ------------------------------------------------------------
def _seed_dir() -> Path:
    return SEED_ROOT / SEED_VERSION


def _link_tree(source: Path, target: Path) -> None:
    """Copy a maildir: message files (cur/, new/) as hard links where possible —
    Dovecot never rewrites them, only renames — everything else (indexes, uidlist,
    logs that Dovecot appends to) as real copies."""
    uid, gid = _mail_user()
    for directory, _subdirs, files in os.walk(source):
        rel = Path(directory).relative_to(source)
        out = target / rel
        out.mkdir(parents=True, exist_ok=True)
        os.chown(out, uid, gid)
        linkable = Path(directory).name in ("cur", "new")
        for name in files:
            src, dst = Path(directory) / name, out / name
            if linkable:
                try:
                    os.link(src, dst)
                    continue
                except OSError:
                    pass
            shutil.copy2(src, dst)
            os.chown(dst, uid, gid)


@dataclass
class SeedInfo:
    seconds: float  # the seeding run's APPEND time
    cached: bool  # True: restored from SEED_ROOT in this run
    restore_seconds: float = 0.0


def seeded_dovecot() -> tuple[DovecotServer, SeedInfo]:
    """A running private Dovecot whose user LOGIN holds the seeded mailbox.

    The caller stops it (server.stop(); shutil.rmtree(server.directory))."""
    server = dovecot_start(DovecotOptions(tls=False), users={})
    try:
        seed = _seed_dir()
        meta_file = seed / "meta.json"
        maildir = server.directory / "mail" / LOGIN
        if meta_file.exists():
            start = time.monotonic()
            _link_tree(seed / "maildir", maildir)
            restore = time.monotonic() - start
            server.user_add(LOGIN, PASSWORD)
            meta = json.loads(meta_file.read_text())
            return server, SeedInfo(seconds=float(meta["seconds"]), cached=True, restore_seconds=restore)
        server.user_add(LOGIN, PASSWORD)
        seconds = seed_append(server)
        # Keep a copy only of a complete seed; a half-written one is removed.
        tmp = SEED_ROOT / f".{SEED_VERSION}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            _link_tree(maildir, tmp / "maildir")
            (tmp / "meta.json").write_text(
                json.dumps({"seconds": seconds, "messages": SEED_TOTAL, "folders": FOLDERS, "login": LOGIN})
            )
            shutil.rmtree(seed, ignore_errors=True)
            seed.parent.mkdir(parents=True, exist_ok=True)
            tmp.rename(seed)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return server, SeedInfo(seconds=seconds, cached=False)
    except BaseException:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
        raise
