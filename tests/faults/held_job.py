"""A job the worker-stop test holds mid-run: it says it started, then waits to be let go."""

import time
from pathlib import Path


def hold(folder: str) -> None:
    here = Path(folder)
    (here / "started").touch()
    while not (here / "release").exists():
        time.sleep(0.05)
    (here / "done").touch()
