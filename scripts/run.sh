#!/usr/bin/env bash
# Start the RQ worker, RQ's cron scheduler and the web server together; Ctrl-C stops them all.
set -euo pipefail
BIN=$1 HOST=$2 PORT=$3 THREADS=$4

"$BIN/python" worker.py &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
sleep 1  # let the worker start the embedded Redis first, so the web process attaches to it
"$BIN/python" cron.py &  # RQ's cron scheduler: enqueues the periodic jobs (recording retention)
CRON=$!
trap 'kill $WORKER $CRON 2>/dev/null || true' EXIT INT TERM

"$BIN/python" scripts/banner.py "$HOST" "$PORT"

# gthread: each websocket holds one thread of the pool, so flask-sock works without monkey-patching
# (psycopg, redis-py and SQLAlchemy stay plain blocking code). An idle rep socket costs two mostly
# sleeping threads (~80 KiB, measured by bench/), so a process holds 1,000+ dashboards: --threads
# bounds open sockets plus requests in flight; --worker-connections must exceed it (gunicorn counts both).
"$BIN/gunicorn" -k gthread --threads "$THREADS" --worker-connections "${WEB_CONNECTIONS:-2000}" \
  -w "${WEB_CONCURRENCY:-2}" \
  -b "$HOST:$PORT" --access-logfile - wsgi:app
