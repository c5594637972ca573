"""RQ jobs of automation rules: decide on each event, run a rule's actions, and the cron pass.

Plain functions taking ids. The run and step rows are the truth: a duplicated or retried job
redoes nothing, and `sweep` (cron.py) re-enqueues what Redis or a killed worker lost.
"""

from datetime import timedelta

from flask import current_app
from rq import Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from app.automations import service
from app.events import on_event
from app.jobs import queue
from app.redis_store import get_redis


def _retry() -> Retry | None:
    intervals = current_app.config["AUTOMATION_RETRY_INTERVALS"]
    return Retry(max=len(intervals), interval=list(intervals)) if intervals else None


def _job_id(run_id, delay=None) -> str:
    # the job after a wait has its own id: it is enqueued while the first is still running
    return f"automation-run-{run_id}" + ("-after-wait" if delay else "")


def enqueue_run(run_id, delay: timedelta | None = None) -> None:
    kwargs = {"retry": _retry(), "job_id": _job_id(run_id, delay), "result_ttl": 0}
    if delay:
        queue().enqueue_in(delay, run_rule, str(run_id), **kwargs)
    else:
        queue().enqueue(run_rule, str(run_id), **kwargs)


@on_event
def automations_for_event(event_id: str) -> int:
    """Decide every enabled rule of the event's type on it; enqueue the runs that matched."""
    owed = service.runs_for_event(event_id)
    for run_id in owed:
        enqueue_run(run_id)
    return len(owed)


def run_rule(run_id: str) -> str:
    """Run one rule's actions for one event, from the first not done (RQ's Retry backs off failures)."""
    job = get_current_job()
    lock = get_redis().lock(f"converc:automation-run:{run_id}", timeout=600)
    if not lock.acquire(blocking=False):
        return "running elsewhere"  # a duplicate job: the other one does the work
    try:
        outcome = service.execute(run_id, last_try=job is None or not job.retries_left)
    finally:
        lock.release()
    if outcome == "waiting":
        # prompt when the wait is over; the cron pass runs it anyway if Redis loses this
        enqueue_run(run_id, max(service.due_in(run_id), timedelta(seconds=1)))
    return outcome


def sweep() -> dict:
    """The periodic pass: events no rule decided on yet, runs whose job was lost, waits that are over."""
    grace = timedelta(seconds=max(current_app.config["OWED_SWEEP_SECONDS"], 0))
    events = service.unevaluated_events(max(grace, timedelta(seconds=5)))
    for event_id in events:
        automations_for_event(str(event_id))
    owed = [run for run in service.overdue_runs(grace)
            if _status(_job_id(run.id)) not in RUNNING and _status(_job_id(run.id, True)) not in RUNNING]
    for run in owed:
        # a wait over in the database but still scheduled in RQ (its scheduler was down): now
        _drop_job(_job_id(run.id, True))
        _drop_job(_job_id(run.id))
        enqueue_run(run.id)
    purged = service.purge_old_runs(current_app.config["AUTOMATION_LOG_RETENTION_DAYS"])
    return {"events": len(events), "runs": len(owed), "purged": purged}


RUNNING = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED)


def _status(job_id):
    try:
        return Job.fetch(job_id, connection=queue().connection).get_status()
    except NoSuchJobError:
        return None


def _drop_job(job_id) -> None:
    try:
        Job.fetch(job_id, connection=queue().connection).delete()
    except NoSuchJobError:
        pass
