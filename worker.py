"""Start an RQ worker, with its scheduler, on the app's queues: it builds the app and nothing else."""

import sys

from app import create_app
from app.jobs import ThreadPoolWorker
from app.redis_store import get_redis


def main(burst: bool = False) -> None:
    app = create_app()
    with app.app_context():
        # Jobs run in this process on WORKER_THREADS threads, each job in an app context of its own:
        # no fork per job (jobs keep the app's database pool), and a slow webhook endpoint holds
        # one thread rather than the whole worker.
        worker = ThreadPoolWorker(app.config["RQ_QUEUES"], connection=get_redis(), app=app,
                                  threads=app.config["WORKER_THREADS"])
        if not burst:
            from app.webhooks.jobs import ensure_sweeper

            ensure_sweeper()
        worker.work(burst=burst, with_scheduler=True, logging_level=app.config["WORKER_LOG_LEVEL"])


if __name__ == "__main__":
    main(burst="--burst" in sys.argv)
