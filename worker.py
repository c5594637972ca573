"""Start an RQ worker, with its scheduler, on the app's queues, inside one app context."""

import sys

from rq import SimpleWorker

from app import create_app
from app.redis_store import get_redis


def main(burst: bool = False) -> None:
    app = create_app()
    with app.app_context():
        # SimpleWorker runs jobs in this process, inside this app context: no fork per job,
        # so jobs keep the app's database pool and start in microseconds.
        worker = SimpleWorker(app.config["RQ_QUEUES"], connection=get_redis())
        worker.work(burst=burst, with_scheduler=True)


if __name__ == "__main__":
    main(burst="--burst" in sys.argv)
