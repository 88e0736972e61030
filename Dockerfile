# syntax=docker/dockerfile:1
# care-bot in a container: `docker build -t care-bot .`, or `docker compose up` with compose.yaml.
# docs/operations.md explains the volume, the settings and backups; hadolint checks this file in the tests.

# --- builder: the project as a wheel, with a wheel of every runtime dependency (and the PostgreSQL driver)
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
# only what the wheel is built from (.dockerignore keeps the rest, and any .env, out of the build context)
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY connectors ./connectors
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

# --- runtime: a slim Python with the installed wheels only: no source tree, no build tools, no pip cache
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# exactly the wheels the builder made (care-bot, its dependencies, psycopg), mounted for this one step only
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl

# an unprivileged user owning only /data, where the SQLite database (and its WAL) lives
RUN groupadd --system --gid 10001 care \
    && useradd --system --uid 10001 --gid care --home-dir /data --no-create-home --shell /usr/sbin/nologin care \
    && mkdir /data \
    && chown care:care /data

# settings the image fixes; every other one comes from the environment (compose.yaml's env file)
ENV DATABASE_URL=sqlite:////data/care.db \
    HOST=0.0.0.0 \
    PORT=3000

WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 3000

# /healthz answers 200 while the process and its database do; slim has no curl, Python is here anyway
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=3)"]

# `serve` by default; `docker run IMAGE db upgrade` (or db backup, forget, connectors --check) runs another command
ENTRYPOINT ["care-bot"]
CMD ["serve"]
