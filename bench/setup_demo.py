"""`make run`'s start-up before the server: `flask db upgrade` + `flask seed-demo` (two Python
processes, the anchor) against `flask setup-demo` (one), on a fresh SQLite file and on a restart."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask"]


def timed(commands, env):
    start = time.perf_counter()
    for command in commands:
        subprocess.run(FLASK + command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    with tempfile.TemporaryDirectory() as tmp:
        def env(name):
            return {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": f"sqlite:///{tmp}/{name}.db",
                    "RECORDINGS_DIR": f"{tmp}/recordings"}
        for moment in ("fresh database", "restart"):
            two = timed([["db", "upgrade"], ["seed-demo"]], env("two"))
            one = timed([["setup-demo"]], env("one"))
            print(f"{moment}: upgrade+seed-demo {two:.1f} s, setup-demo {one:.1f} s, ratio {one / two:.2f}")


if __name__ == "__main__":
    main()
