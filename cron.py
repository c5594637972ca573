"""Start RQ's cron scheduler: it enqueues the periodic jobs, which worker.py then runs.

Run one (`python cron.py`) beside the workers; a second one waits as a standby.
"""

from rq.cron import CronScheduler

from app import create_app
from app.recordings.jobs import purge_expired_recordings
from app.redis_store import get_redis

# (function, queue, crontab in UTC)
PERIODIC_JOBS = [
    (purge_expired_recordings, "default", "17 3 * * *"),  # recording retention, nightly
]


def build(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection)
    for func, queue_name, spec in PERIODIC_JOBS:
        scheduler.register(func, queue_name, cron=spec)
    return scheduler


def main() -> None:
    app = create_app()
    with app.app_context():
        build(get_redis()).start()


if __name__ == "__main__":
    main()
