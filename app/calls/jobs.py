"""Call jobs: take ids, idempotent (the transitions are guarded by the call's status)."""

import logging

log = logging.getLogger(__name__)


def ring_timeout(call_id: str) -> None:
    """Nobody accepted in time: the call is missed (no-op if it was answered or canceled)."""
    from app.calls import service

    service.miss(service.as_uuid(call_id))


def overflow(call_id: str) -> None:
    """Nobody in the call's team answered in time: its overflow target rings too (no-op once it
    overflowed, or was answered or ended)."""
    from app.calls import service

    service.overflow(service.as_uuid(call_id))


def abandon_check(call_id: str, side: str) -> None:
    """A side's socket closed a while ago: end or cancel the call if it never came back."""
    from app.calls import service

    service.abandon_check(service.as_uuid(call_id), side)


def end_overdue_rings() -> int:
    """The periodic pass (cron.py): every call still ringing past its deadline is missed.

    The prompt ring_timeout job lives in Redis; this reads the database, so a call whose job was
    lost (Redis restarted empty, a worker killed) still ends, only later. The guarded transition
    makes a second run, or a race with the prompt job, do nothing.
    """
    from app.calls import service
    from app.extensions import db

    ended = 0
    for call_id in service.overdue_ring_ids():
        try:
            ended += service.miss(call_id) is not None
        except Exception:  # one call's failure must not keep the others ringing: log, carry on
            log.exception("ending overdue call %s failed", call_id)
            db.session.rollback()
    return ended


def overflow_overdue_rings() -> int:
    """The periodic pass (cron.py): every call still ringing past its overflow time overflows,
    even when the prompt overflow job was lost with Redis (the guarded UPDATE makes it once)."""
    from app.calls import service
    from app.extensions import db

    done = 0
    for call_id in service.overdue_overflow_ids():
        try:
            done += service.overflow(call_id) is not None
        except Exception:  # one call's failure must not keep the others from overflowing
            log.exception("overflowing call %s failed", call_id)
            db.session.rollback()
    return done


def end_abandoned_calls() -> int:
    """The periodic pass (cron.py): an answered call a side left for good ends, even when the
    prompt abandon_check job was lost with Redis."""
    from app.calls import service
    from app.extensions import db

    ended = 0
    for call_id, side in service.abandoned_call_sides():
        try:
            ended += service.abandon_check(call_id, side) is not None
        except Exception:  # one call's failure must not keep the others open: log, carry on
            log.exception("ending abandoned call %s failed", call_id)
            db.session.rollback()
    return ended
