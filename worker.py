"""Start an RQ worker, with its scheduler, on the app's queues: it builds the app and nothing else."""

import logging
import sys
import time

from redis.exceptions import RedisError

from app import create_app
from app.jobs import ThreadPoolWorker
from app.redis_store import get_redis

log = logging.getLogger("worker")


def main(burst: bool = False) -> None:
    app = create_app()
    with app.app_context():
        while True:
            worker = build(app)
            try:
                worker.work(burst=burst, with_scheduler=True, logging_level=app.config["WORKER_LOG_LEVEL"])
            except RedisError:
                log.warning("worker: Redis unavailable; starting again", exc_info=True)
            # RQ's loop quits on some Redis errors (a restart): work again, unless we were told to stop
            if burst or worker._shutdown_requested_date is not None:
                return
            time.sleep(1)


def build(app) -> ThreadPoolWorker:
    # Jobs run in this process on WORKER_THREADS threads, each job in an app context of its own:
    # no fork per job (jobs keep the app's database pool), and a slow webhook endpoint holds
    # one thread rather than the whole worker. RQ retries a lost scheduler lock (a killed
    # worker's lives 61 s) only in its maintenance pass, every 10 minutes by default: ours runs
    # every OWED_SWEEP_SECONDS, so scheduled retries resume soon after.
    return ThreadPoolWorker(app.config["RQ_QUEUES"], connection=get_redis(), app=app,
                            threads=app.config["WORKER_THREADS"],
                            maintenance_interval=max(int(app.config["OWED_SWEEP_SECONDS"]), 1))


if __name__ == "__main__":
    main(burst="--burst" in sys.argv)
