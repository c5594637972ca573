"""A web node stopping (SIGTERM): it stops accepting (gunicorn does), answers /readyz with 503,
and closes every socket with 1012 "service restart" so browsers reconnect to another node at once
instead of holding this one's threads until the grace period runs out."""

import logging
import threading

log = logging.getLogger(__name__)
_draining = threading.Event()
RESTART = 1012  # RFC 6455 registry: the service is restarting, reconnect


def draining() -> bool:
    return _draining.is_set()


def drain() -> int:
    """Tell every socket of this process to reconnect elsewhere; answer how many were told."""
    from app.realtime.bus import close_all_local

    _draining.set()
    closed = close_all_local(RESTART, "Server restarting: reconnect.")
    log.warning("draining: closed %d sockets", closed)
    return closed


def finish(timeout: float = 10) -> None:
    """From gunicorn's worker_exit: a handed-off socket (a dashboard's) holds no request, so the
    worker may end before the drain has closed it; close what is left and give each its `closed`
    (presence, metrics) before the process goes."""
    from app.realtime.reader import open_sessions, wait_for_sessions

    if open_sessions():
        drain()
    left = wait_for_sessions(timeout)
    if left:
        log.warning("stopping with %d sockets still open", left)


def install_sigterm(worker) -> None:
    """From gunicorn's post_worker_init: drain on SIGTERM, then let gunicorn's own handler run."""
    import signal

    original = worker.handle_exit

    def on_sigterm(sig, frame):
        threading.Thread(target=drain, name="drain", daemon=True).start()
        original(sig, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
