# jmap-proxy — the README's two set-up commands are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
JMAP_DATADIR ?= $(CURDIR)/data
export JMAP_DATADIR
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_RUN_PACKAGES := python3-venv
# Servers the test suite starts by itself on 127.0.0.1 (it never uses system instances).
# chromium: the dashboard's browser test (Playwright drives Debian's build; nothing is downloaded).
# cyrus-common, cyrus-caldav (master, httpd with JMAP), sasl2-bin: the native JMAP server behind passthrough
# accounts. Its imapd (cyrus-imapd) conflicts with dovecot-imapd (both provide imap-server), so it is unpacked
# into .tools/ (CYRUS_IMAPD below), never installed.
APT_TEST_PACKAGES := dovecot-core dovecot-imapd dovecot-lmtpd redis-server postgresql openssl ca-certificates chromium cyrus-common cyrus-caldav sasl2-bin

.PHONY: run test test-system-deps recheck lint bench bench-mail bench-sse bench-sync-cpu bench-push bench-first-sync bench-contacts bench-passthrough clean

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c "import ensurepip" 2>/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(APT_RUN_PACKAGES); }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/python manage.py runproxy

test-system-deps:
	@missing=""; for p in $(APT_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The ReDoS checker of tests/test_regex_safety.py: a standalone binary shipped in an npm package,
# kept in the git-ignored .tools/ (installed once; nothing to do when it is there).
RECHECK_VERSION := 4.5.0
RECHECK := .tools/node_modules/recheck-linux-x64/recheck

recheck: $(RECHECK)

$(RECHECK):
	@command -v npm >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }
	npm install --silent --no-audit --no-fund --prefix .tools recheck-linux-x64@$(RECHECK_VERSION)
	test -x $@ && touch $@

# Cyrus's imapd, unpacked from the cyrus-imapd package of the installed cyrus-common's version (see above).
CYRUS_IMAPD := .tools/cyrus/usr/lib/cyrus/bin/imapd

$(CYRUS_IMAPD): | test-system-deps
	@mkdir -p .tools/cyrus-deb
	@version=$$(dpkg-query -W -f='$${Version}' cyrus-common); \
	cd .tools/cyrus-deb && { apt-get download -q cyrus-imapd=$$version 2>/dev/null || \
		{ $(SUDO) apt-get update -qq && apt-get download -q cyrus-imapd=$$version; }; }
	dpkg -x .tools/cyrus-deb/cyrus-imapd_*.deb .tools/cyrus
	test -x $@ && touch $@

# test-system-deps installed the servers: one missing now fails the run instead of skipping (tests/servers/require.py).
test: test-system-deps $(VENV)/.installed-dev $(RECHECK) $(CYRUS_IMAPD)
	JMAP_TEST_REQUIRE_SERVERS=1 $(VENV)/bin/pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

bench: $(VENV)/.installed-dev
	$(VENV)/bin/python bench/foundation.py

# 100,000 messages in a private Dovecot (seeded once, then cached in /tmp/jmap-bench-mail-seed/).
bench-mail: $(VENV)/.installed-dev
	$(VENV)/bin/python bench/mail.py $(BENCH_ARGS)

# 1,000 idle EventSource connections on one web process: memory per connection, Core/echo latency.
bench-sse: $(VENV)/.installed-dev
	$(VENV)/bin/python bench/sse_idle.py $(BENCH_ARGS)

# CPU seconds per hour of the periodic sync of 100 idle accounts (private Dovecot; about 8 minutes).
bench-sync-cpu: test-system-deps $(VENV)/.installed-dev
	$(VENV)/bin/python bench/sync_idle_cpu.py $(BENCH_ARGS)

# APPEND by another IMAP client -> EventSource StateChange, embedded and scale-out (private Dovecot,
# PostgreSQL and Redis, loopback only; about 8 minutes). BENCH_ARGS="--mode embedded|scaleout" for one.
bench-push: test-system-deps $(VENV)/.installed-dev
	$(VENV)/bin/python bench/push_latency.py $(BENCH_ARGS)

# POST /api/accounts -> newest 50 INBOX messages and all 20,000 (13 folders) queryable through JMAP,
# runproxy as the README starts it, private Dovecot (seeded once, cached in /tmp/jmap-bench-mail-seed/).
bench-first-sync: test-system-deps $(VENV)/.installed-dev
	$(VENV)/bin/python bench/first_sync.py $(BENCH_ARGS)

# 5,000 vCards on a private Radicale and a private Xandikos: initial CardDAV sync, a sync finding nothing
# new, ContactCard/query text search and ContactCard/get of 500 over HTTP (medians).
bench-contacts: $(VENV)/.installed-dev
	$(VENV)/bin/python bench/contacts.py $(BENCH_ARGS)

# JMAP passthrough on a private Cyrus IMAP 3.6 (3,000 seeded messages): added latency of the list-view
# request (median of 100), 100 MiB upload/download throughput (median of 3) and push relay delay, direct vs proxy.
bench-passthrough: test-system-deps $(VENV)/.installed-dev $(CYRUS_IMAPD)
	$(VENV)/bin/python bench/passthrough.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
