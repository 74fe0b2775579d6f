"""The operator's first look in a real browser: Debian's Chromium, driven by
Playwright, logs in to a proxy started as the README starts it and reads the
dashboard's home. Behind it: alice's account on a real Dovecot, in sync and
watched over IMAP IDLE because an EventSource listens; mallory's server (the
same Dovecot behind a relay) answers her login with hostile HTML; carol's
server does not answer at all.

The screenshot is kept with the test output; its path is printed.
Playwright's own browser downloads are never used (`playwright install` needs
a CDN this project cannot reach): the Chromium is Debian's.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.jmapcore.push.clients import PushPerson, eventsource
from tests.jmapsite.dashboard_fleet import HOSTILE_ERROR
from tests.servers.dovecot import DovecotFactory, DovecotOptions, DovecotServer, free_port
from tests.servers.proxy import ProxyProcess, proxy_running
from tests.servers.require import server_missing
from tests.servers.rewriting_relay import RewritingRelay

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
# Headless, no sandbox (root in CI), and nothing that phones home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every wait below is bounded by this (seconds): syncs, IDLE, the page.
WAIT = 60.0


def wait_for(check: Any, *, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright; missing, it skips (or fails under
    `make test` and CI: tests/servers/require.py)."""
    if shutil.which(CHROMIUM) is None:
        server_missing(f"{CHROMIUM} is missing (apt-get install chromium; `make test-system-deps` does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        server_missing("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=WAIT * 1000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    with proxy_running(tmp_path_factory.mktemp("dashboard-proxy")) as running:
        yield running


@pytest.fixture(scope="module")
def mail_server(dovecot_factory: DovecotFactory) -> DovecotServer:
    return dovecot_factory(DovecotOptions())


def account_add(proxy: ProxyProcess, name: str, *, port: int, password: str, login: str) -> PushPerson:
    accountid = f"{name}-{secrets.token_hex(3)}"
    body = {
        "accountid": accountid, "email": login, "type": "imap", "username": login, "password": password,
        "imapHost": "127.0.0.1", "imapPort": port, "imapSSL": 0, "check": False,
    }  # fmt: skip
    created = httpx.post(proxy.mgmt_url + "/api/accounts", json=body, timeout=30)
    assert created.status_code == 201, created.text
    queued = httpx.post(proxy.mgmt_url + f"/api/accounts/{accountid}/sync", json={}, timeout=30)
    assert queued.status_code in (200, 202), queued.text
    return PushPerson(name=name, login=login, password=password, account_ids=[accountid], proxy=proxy)


def account_read(proxy: ProxyProcess, accountid: str) -> dict[str, Any]:
    return dict(httpx.get(proxy.mgmt_url + f"/api/accounts/{accountid}", timeout=30).json())


def idle_watchers(proxy: ProxyProcess) -> list[dict[str, Any]]:
    """The live IMAP listener's watchers (its status file in the data directory)."""
    for path in sorted((proxy.datadir / "run").glob("imap-listener-*.json")):
        try:
            status = json.loads(path.read_text())
            os.kill(int(status["pid"]), 0)
        except (OSError, ValueError, KeyError):
            continue
        return list(status.get("watchers", {}).values())
    return []


def hostile_no(line: bytes) -> bytes:
    """Every tagged NO of the server becomes hostile HTML (a login refusal included)."""
    tag, _, rest = line.partition(b" ")
    return tag + b" NO " + HOSTILE_ERROR.encode() + b"\r\n" if rest.startswith(b"NO ") else line


@pytest.fixture(scope="module")
def people(proxy: ProxyProcess, mail_server: DovecotServer) -> Iterator[dict[str, PushPerson]]:
    """alice in sync and listened to (IDLE), mallory failing with hostile HTML, carol failing."""
    alice_login = f"alice-{secrets.token_hex(3)}@example.test"
    alice_password = mail_server.user_add(alice_login)
    for number in range(3):
        mail_server.message_append(
            alice_login, f"From: bob@example.test\r\nSubject: note {number}\r\n\r\nhello {number}\r\n"
        )
    mallory_login = f"mallory-{secrets.token_hex(3)}@example.test"
    mail_server.user_add(mallory_login)
    relay = RewritingRelay(target_host=mail_server.host, target_port=mail_server.imap_port)
    relay.rewrite = staticmethod(hostile_no)
    try:
        found = {
            "alice": account_add(proxy, "alice", port=mail_server.imap_port, password=alice_password,
                                 login=alice_login),
            "mallory": account_add(proxy, "mallory", port=relay.port, password="not-her-password",
                                   login=mallory_login),
            "carol": account_add(proxy, "carol", port=free_port(), password="pw", login="carol@example.test"),
        }  # fmt: skip
        yield found
    finally:
        relay.stop()


@pytest.fixture(scope="module")
def settled(proxy: ProxyProcess, people: dict[str, PushPerson]) -> Iterator[dict[str, PushPerson]]:
    """Every sync has an outcome, alice is listened to and her IDLE connection is up."""
    alice = people["alice"]
    wait_for(lambda: account_read(proxy, alice.account_id).get("lastSyncAt"), what="alice's first sync")
    for name in ("mallory", "carol"):
        wait_for(lambda n=name: account_read(proxy, people[n].account_id).get("lastSyncError"),
                 what=f"{name}'s failed sync")  # fmt: skip
    with eventsource(alice):
        wait_for(lambda: [w for w in idle_watchers(proxy) if w.get("state") == "idle"], what="alice's IDLE")
        for _ in range(5):  # some JMAP traffic for the requests chart
            alice.call(["Core/echo", {"hello": "dashboard"}, "e"])
        yield people


def login(page: Page, proxy: ProxyProcess) -> None:
    page.goto(proxy.mgmt_url + "/", wait_until="load", timeout=WAIT * 1000)
    assert "/login/" in page.url  # not logged in yet: the admin's login form
    password = (proxy.datadir / "admin-password").read_text().strip()
    page.fill("#id_username", "admin")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#jmap-dashboard", timeout=WAIT * 1000)


def figure(page: Page, card_id: str) -> str:
    return page.inner_text(f"#{card_id} .figure").strip()


def test_the_operator_sees_the_fleet_at_a_glance(
    chromium: Browser,
    proxy: ProxyProcess,
    settled: dict[str, PushPerson],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    record_property: Any,
) -> None:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    dialogs: list[str] = []  # an alert() the hostile error could have opened

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        login(page, proxy)
        assert page.url == proxy.mgmt_url + "/"

        screenshot = tmp_path_factory.mktemp("dashboard-screenshot") / "dashboard-home.png"
        page.screenshot(path=str(screenshot), full_page=True)
        record_property("screenshot", str(screenshot))
        with capsys.disabled():
            print(f"\ndashboard screenshot: {screenshot}")

        assert figure(page, "jmap-state-in-sync") == "1"  # alice
        assert figure(page, "jmap-state-failing") == "2"  # mallory, carol
        assert figure(page, "jmap-state-initial") == "0"
        assert figure(page, "jmap-push") == "1"
        assert figure(page, "jmap-idle") == "1"
        assert "1 idle" in page.inner_text("#jmap-idle")

        # The hostile error is on the page as text, and nothing of it ran.
        failing = page.inner_text("#jmap-failing")
        assert "<script>window.__pwned = 1</script>" in failing
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert dialogs == []
        assert page.locator("#jmap-dashboard img").count() == 0
        assert settled["mallory"].account_id in failing and settled["carol"].account_id in failing

        # The charts are drawn, the requests one with at least the echo calls' minute.
        assert page.locator("svg.jmap-chart").count() == 2
        assert page.locator("#jmap-requests-chart rect.bar").count() >= 1
        assert page.locator("#jmap-lag-chart polyline, #jmap-lag-chart circle").count() >= 1

        # Only the proxy's own management port was asked for anything.
        assert requested and all(url.startswith(proxy.mgmt_url + "/") for url in requested), requested

        # A figure leads to the account list filtered to what it counts.
        page.click("#jmap-state-failing")
        page.wait_for_selector("#result_list", timeout=WAIT * 1000)
        listed = page.inner_text("#result_list")
        assert settled["mallory"].account_id in listed
        assert settled["carol"].account_id in listed
        assert settled["alice"].account_id not in listed
        assert "<script>window.__pwn" in listed  # the list's error column (cut at 80 characters): text too
        assert page.evaluate("typeof window.__pwned") == "undefined"
        page.go_back()
        page.click("#jmap-idle")
        page.wait_for_selector("#result_list", timeout=WAIT * 1000)
        assert settled["alice"].account_id in page.inner_text("#result_list")
    finally:
        context.close()


def test_an_anonymous_browser_gets_the_login_form(chromium: Browser, proxy: ProxyProcess) -> None:
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto(proxy.mgmt_url + "/", wait_until="load", timeout=WAIT * 1000)
        assert page.url.startswith(proxy.mgmt_url + "/login/")
        assert page.locator("#jmap-dashboard").count() == 0
        assert page.locator("#id_password").count() == 1
    finally:
        context.close()

