"""Start RQ's cron scheduler, the one owner of every periodic job (worker.py runs them).

Run one (`python cron.py`) beside the workers; more wait as standbys (one Redis lock decides who
enqueues). It outlives Redis restarts. The passes over owed work (rows with a due time: webhook
deliveries, ring timeouts, recordings to finish) run every OWED_SWEEP_SECONDS; each is
idempotent, and one that fails is logged by the worker and simply runs again next time.
"""

from app import create_app
from app.analytics.jobs import rollup as analytics_rollup
from app.integrations.jobs import sync_all_calendars
from app.jobs import StandbyCronScheduler, run_pass
from app.recordings.jobs import purge_expired_recordings
from app.redis_store import get_redis
from app.routing.jobs import purge_refusals

# passes over rows that are due, every OWED_SWEEP_SECONDS (by name: run_pass imports them)
OWED_WORK = [
    "app.webhooks.jobs.sweep",  # undispatched events, deliveries whose retry job was lost
    "app.calls.jobs.end_overdue_rings",  # calls still ringing past their ring deadline: missed
    "app.calls.jobs.overflow_overdue_rings",  # routed calls past their overflow time: the fallback rings
    "app.calls.jobs.end_abandoned_calls",  # answered calls a side left for good (its check was lost)
    "app.recordings.jobs.finish_overdue_recordings",  # recordings of ended calls nobody finished
    "app.availability.jobs.check_overdue_availability_changes",  # rep.availability_changed owed
    "app.availability.jobs.sweep_faded_presence",  # dashboards a crashed process left: offline now
    "app.widget.service.warm",  # widget configs and availability answers Redis lacks (after a restart)
    "app.api.idempotency.purge_expired",  # Idempotency-Key answers past their 24 h
    "app.integrations.jobs.resend_lost_integration_deliveries",  # Slack/Discord/lead push sends lost
    "app.automations.jobs.sweep",  # automation runs lost with Redis, delays that are over
    "app.owed_mail.resend_lost",  # invite and password-reset emails whose job was lost
]
# (function, crontab in UTC)
PERIODIC_JOBS = [
    (purge_expired_recordings, "17 3 * * *"),  # recording retention, nightly
    (purge_refusals, "27 3 * * *"),  # refused call requests: 30 days, nightly
    # Google Calendar busy time: CALENDAR_SYNC_CRON (every 5 minutes) replaces this spec at start
    (sync_all_calendars, "*/5 * * * *"),
]


def build(connection, config=None) -> StandbyCronScheduler:
    config = config or {}
    every = max(float(config.get("OWED_SWEEP_SECONDS", 15)), 0.1)
    # WORKER_LOG_LEVEL (WARNING): RQ logs each enqueued pass at INFO, several lines a minute
    scheduler = StandbyCronScheduler(connection=connection, tick=min(every, 5.0),
                                     logging_level=config.get("WORKER_LOG_LEVEL", "WARNING"))
    for name in OWED_WORK:
        scheduler.register(run_pass, "default", args=(name,), interval=every, result_ttl=0, name=name)
    # the analytics roll-up: counters and calls into daily rows (idempotent; one pass at a time)
    rollup_every = max(float(config.get("ANALYTICS_ROLLUP_SECONDS", 60)), 1.0)
    scheduler.register(analytics_rollup, "default", interval=rollup_every, result_ttl=0,
                       name="analytics_rollup")
    for func, spec in PERIODIC_JOBS:
        if func is sync_all_calendars:
            spec = config.get("CALENDAR_SYNC_CRON", spec)
        scheduler.register(func, "default", cron=spec)
    return scheduler


def main() -> None:
    app = create_app()
    with app.app_context():
        build(get_redis(), app.config).start()


if __name__ == "__main__":
    main()
