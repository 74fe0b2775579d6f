# jmap-proxy image: both ports, data on the /data volume, runs as an unprivileged user.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JMAP_HOME=/app \
    JMAP_DATADIR=/data \
    # Inside the container the management port must listen beyond loopback for
    # `-p 127.0.0.1:8080:8080` to reach it; keep publishing it on the host's
    # loopback only. Listening beyond loopback, it always requires a bearer
    # token: JMAP_MGMT_TOKEN, or the one generated at the first start into
    # /data/mgmt-token (mode 0600). No network gets in without it.
    JMAP_MGMT_HOST=0.0.0.0

RUN groupadd --system --gid 10001 jmap \
    && useradd --system --uid 10001 --gid jmap --home-dir /app --shell /usr/sbin/nologin jmap \
    && mkdir -p /data && chown jmap:jmap /data

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=jmap:jmap . .

USER jmap
VOLUME ["/data"]
EXPOSE 9000 8080

# /healthz needs no token (it tells only whether the proxy runs).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('JMAP_MGMT_PORT', '8080'), timeout=4)" || exit 1

CMD ["python", "manage.py", "runproxy"]
