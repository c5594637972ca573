"""Start RQ's cron scheduler: it enqueues the periodic jobs, which worker.py then runs.

Run one (`python cron.py`) beside the workers; a second one waits as a standby.
"""

from rq.cron import CronScheduler

from app import create_app
from app.integrations.jobs import sync_all_calendars
from app.recordings.jobs import purge_expired_recordings
from app.redis_store import get_redis

# (function, queue, crontab in UTC)
PERIODIC_JOBS = [
    (purge_expired_recordings, "default", "17 3 * * *"),  # recording retention, nightly
    # Google Calendar busy time: CALENDAR_SYNC_CRON (every 5 minutes) replaces this spec at start
    (sync_all_calendars, "default", "*/5 * * * *"),
]


def build(connection, config=None) -> CronScheduler:
    scheduler = CronScheduler(connection=connection)
    for func, queue_name, spec in PERIODIC_JOBS:
        if func is sync_all_calendars and config:
            spec = config.get("CALENDAR_SYNC_CRON", spec)
        scheduler.register(func, queue_name, cron=spec)
    return scheduler


def main() -> None:
    app = create_app()
    with app.app_context():
        build(get_redis(), app.config).start()


if __name__ == "__main__":
    main()
