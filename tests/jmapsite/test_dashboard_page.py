"""The dashboard's home (the management root) through Django's test client:
an operator sees the figures, an anonymous visitor is sent to the login, each
figure links to an account list filtered to exactly the accounts it counts,
and what remote servers say is shown as text, never as markup."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.sync import AccountSyncLock
from accounts.sync_state import SyncState
from jmapcore.push.watch import push_watch_hold
from tests.jmapsite.dashboard_fleet import HOSTILE_ERROR, Fleet, fleet_make

OPERATOR_PASSWORD = "operator-password-1"


def admin_url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args, urlconf=settings.MGMT_URLCONF)


@pytest.fixture
def operator(db: None, mgmt_client: Client) -> Client:
    User.objects.create_superuser("operator", "operator@example.test", OPERATOR_PASSWORD)
    form = {"username": "operator", "password": OPERATOR_PASSWORD, "next": "/"}
    response = mgmt_client.post(admin_url("login"), form)
    assert response.status_code == 302
    return mgmt_client


@pytest.fixture
def fleet(db: None) -> Fleet:
    return fleet_make(now=timezone.now())


class Links(HTMLParser):
    """Every <a href> of a page by its id, plus the text of every element by id."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "a" and found.get("id") and found.get("href"):
            self.by_id[str(found["id"])] = str(found["href"])


def page_links(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def listed(client: Client, href: str) -> set[str]:
    """The accountids the admin's account list shows at `href`."""
    response = client.get(href)
    assert response.status_code == 200, href
    return {account.accountid for account in response.context["cl"].result_list}


def card_figure(html: str, card_id: str) -> str:
    found = re.search(rf'id="{card_id}"[^>]*>\s*<span class="figure">([^<]*)</span>', html)
    assert found is not None, card_id
    return found.group(1).strip()


def test_anonymous_is_sent_to_the_login(mgmt_client: Client, db: None) -> None:
    response = mgmt_client.get("/")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == admin_url("login")
    assert parse_qs(urlsplit(response["Location"]).query)["next"] == ["/"]


def test_the_dashboard_is_not_on_the_jmap_port(jmap_client: Client, fleet: Fleet) -> None:
    response = jmap_client.get("/")
    assert b"jmap-dashboard" not in response.content


def test_the_home_shows_every_state_and_keeps_the_app_list(operator: Client, fleet: Fleet) -> None:
    response = operator.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Dashboard | jmap-proxy</title>" in html
    figures = {state: card_figure(html, f"jmap-state-{state.value}") for state in SyncState}
    assert figures == {
        SyncState.INITIAL: "2",  # bob, carol
        SyncState.IN_SYNC: "1",  # alice
        SyncState.LAGGING: "1",  # dave
        SyncState.FAILING: "1",  # mallory
        SyncState.PAUSED: "1",  # erin
    }
    assert "Accounts by sync state (6 in all)" in html
    # The admin's own index is still there below the figures.
    assert 'id="content-main"' in html
    assert admin_url("accounts_account_changelist") in html


def test_each_state_links_to_exactly_its_accounts(operator: Client, fleet: Fleet) -> None:
    links = page_links(operator.get("/").content.decode())
    expected = {
        SyncState.INITIAL: {"bob", "carol"},
        SyncState.IN_SYNC: {"alice"},
        SyncState.LAGGING: {"dave"},
        SyncState.FAILING: {"mallory"},
        SyncState.PAUSED: {"erin"},
    }
    for state, accountids in expected.items():
        href = links.by_id[f"jmap-state-{state.value}"]
        assert urlsplit(href).path == admin_url("accounts_account_changelist")
        assert listed(operator, href) == accountids, state


def test_initial_sync_progress_and_failing_details(operator: Client, fleet: Fleet) -> None:
    html = operator.get("/").content.decode().replace("\xa0", " ")  # timesince's non-breaking spaces
    initial = html[html.index('id="jmap-initial"') : html.index('id="jmap-failing"')]
    assert '<progress max="100" value="25">' in initial
    assert "5000 of 20000 messages, 3 of 13 folders" in initial
    assert "now in &lt;i&gt;Archive&lt;/i&gt;" in initial  # a folder name from the server, as text
    assert "queued" in initial  # carol: nothing started yet
    failing = html[html.index('id="jmap-failing"') : html.index('id="jmap-lags"')]
    assert "mallory" in failing
    assert re.search(r"last attempt 2\d s ago", failing)  # set 20 s before the fixture ended
    assert "no success for 3 h 00 min" in failing


def test_a_hostile_error_is_shown_as_text(operator: Client, fleet: Fleet) -> None:
    html = operator.get("/").content.decode()
    assert "<script>window.__pwned" not in html
    assert 'onerror="window.__pwned' not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;&lt;img src=&quot;x&quot;" in html
    # No element the error could have brought: only the admin's own scripts, no image, no handler.
    tags = page_links(html).tags
    assert [attrs.get("src") for tag, attrs in tags if tag == "script"] == [
        "/static/admin/js/theme.js",
        "/static/admin/js/nav_sidebar.js",
    ]
    assert not [attrs for tag, attrs in tags if tag == "img"]
    assert not [attrs for _tag, attrs in tags if any(name.startswith("on") for name in attrs)]
    # The account list escapes it too.
    listing = operator.get(admin_url("accounts_account_changelist") + "?sync_state=failing").content.decode()
    assert "<script>window.__pwned" not in listing
    assert HOSTILE_ERROR not in listing


def test_worst_lags_come_first_and_link_to_the_account(operator: Client, fleet: Fleet) -> None:
    html = operator.get("/").content.decode()
    lags = html[html.index('id="jmap-lags"') :]
    order = [m.group(1) for m in re.finditer(r'/accounts/account/(\d+)/change/">([a-z]+)</a>', lags)]
    pks = {fleet.dave.account.pk: "dave", fleet.mallory.account.pk: "mallory"}
    named = [pks.get(int(pk)) for pk in order]
    assert named[:2] == ["mallory", "dave"]  # 3 h, then 4 thresholds


def test_activity_links_filter_the_accounts(operator: Client, fleet: Fleet) -> None:
    lock = AccountSyncLock(account_id=fleet.bob.account.pk)
    assert lock.acquire()
    try:
        push_watch_hold(holder="web-1", account_pks=[fleet.alice.account.pk], ttl=60)
        html = operator.get("/").content.decode()
        links = page_links(html)
        assert card_figure(html, "jmap-syncing") == "1"
        assert card_figure(html, "jmap-push") == "1"
        assert listed(operator, links.by_id["jmap-syncing"]) == {"bob"}
        assert listed(operator, links.by_id["jmap-push"]) == {"alice"}
        assert listed(operator, links.by_id["jmap-idle"]) == set()
        assert "running" in html[html.index('id="jmap-initial"') : html.index('id="jmap-failing"')]
    finally:
        lock.release()


def test_the_charts_are_inline_svg_with_nothing_loaded_from_elsewhere(operator: Client, fleet: Fleet) -> None:
    html = operator.get("/").content.decode()
    assert html.count('<svg class="jmap-chart"') == 2
    # The page itself asks only its own origin for anything (styles, scripts, images).
    for tag, attrs in page_links(html).tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            if tag in ("link", "script", "img") and value:
                assert value.startswith("/"), (tag, value)
