"""Web nodes as production runs them: a gunicorn master with deploy/gunicorn.conf.py's hooks."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import free_port, log_file, log_text

ROOT = Path(__file__).resolve().parents[2]


def node_env(settings, **extra) -> dict:
    return {**os.environ, "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": settings["REDIS_URL"], "SECRET_KEY": settings["SECRET_KEY"], **extra}


def start_node(settings, workers=2, port=None, bind_host="127.0.0.1", **extra_env):
    """A gunicorn master with `workers` processes; answers (proc, base URL) once it serves."""
    port = port or free_port()
    env = node_env(settings, BASE_URL=extra_env.pop("BASE_URL", f"http://127.0.0.1:{port}"), **extra_env)
    log = log_file()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--threads", "200",
         "--worker-connections", "400", "-w", str(workers), "-b", f"{bind_host}:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    url = f"http://{bind_host}:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(log_text(log)) from None
            time.sleep(0.1)
    stop_node(proc)
    raise RuntimeError("the node did not start")


def stop_node(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
