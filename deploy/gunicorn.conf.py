"""gunicorn settings shared by `make run`, the systemd unit and the tests: the hooks that make
metrics add up across workers and let a node stop gracefully. Bind, threads and processes come
from the command line (see scripts/run.sh and deploy/systemd/converc-web.service)."""

import os
from pathlib import Path

worker_class = "gthread"
# SIGTERM: stop accepting, close every socket with 1012 so browsers reconnect to another node,
# finish requests in flight; whatever is still open after this many seconds is cut.
graceful_timeout = 25


def _multiproc_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server):
    # a fresh master: metrics files of a previous run's dead workers must not be summed in
    path = _multiproc_dir()
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        for stale in Path(path).glob("*.db"):
            stale.unlink()


def post_fork(server, worker):
    # a call socket holds one of the worker's --threads (a dashboard's none): unless set, the
    # process refuses sockets (1013) while some threads are still free, so plain HTTP is never
    # starved, whichever kind the sockets are
    threads = worker.cfg.threads
    os.environ.setdefault("WEBSOCKET_LIMIT", str(threads - min(100, threads // 2)))


def post_worker_init(worker):
    from app.ops.shutdown import install_sigterm

    install_sigterm(worker)


def worker_exit(server, worker):
    from app.ops.shutdown import finish

    finish()


def child_exit(server, worker):
    if _multiproc_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
