"""`rep.availability_changed`: said once per real change of a rep's availability, debounced.

The Available switch and presence (a dashboard opening or closing) only mark a check as owed
(a `RepAvailabilityNotice` row with a due time, AVAILABILITY_EVENT_DEBOUNCE_SECONDS ahead); the
check compares the rep's state then with what was last announced. A page reload closes and
reopens the socket within the window: nothing changed, nothing is said.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError

from app.events import record_event
from app.extensions import db
from app.models import RepAvailabilityNotice, User
from app.models.base import utcnow


def note_change(user_id, organization_id) -> None:
    """The toggle or presence of a rep changed: owe a check (an earlier owed one stands)."""
    delay = current_app.config["AVAILABILITY_EVENT_DEBOUNCE_SECONDS"]
    due = utcnow() + timedelta(seconds=delay)
    # one statement, not a read then a write: a reload's two notes (the old socket's close, the new
    # one's open, on two threads) each read "nothing owed" and both owed a check
    owed = db.session.execute(
        sa.update(RepAvailabilityNotice)
        .where(RepAvailabilityNotice.user_id == user_id, RepAvailabilityNotice.due_at.is_(None))
        .values(due_at=due).execution_options(synchronize_session=False)).rowcount
    if not owed:
        if db.session.scalar(sa.select(RepAvailabilityNotice.user_id).where(
                RepAvailabilityNotice.user_id == user_id)) is not None:
            return  # a check is already owed: the burst is one change
        db.session.add(RepAvailabilityNotice(user_id=user_id, organization_id=organization_id, due_at=due))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another process owed it at the same moment
        return
    _enqueue(user_id, delay)


def _enqueue(user_id, delay: float) -> None:
    from app.availability.jobs import check_availability_change
    from app.jobs import queue

    try:
        queue().enqueue_in(timedelta(seconds=delay), check_availability_change, str(user_id), result_ttl=0)
    except RedisError:
        current_app.logger.warning("availability check for %s left to cron", user_id, exc_info=True)


def check(user_id) -> bool:
    """Announce the rep's state if it differs from the last announcement; True when it did."""
    from app.realtime import presence

    row = db.session.get(RepAvailabilityNotice, user_id, with_for_update=True)
    if row is None or row.due_at is None or row.due_at > utcnow() + timedelta(seconds=1):
        db.session.rollback()
        return False
    user = db.session.get(User, user_id)
    online = presence.is_online(user_id)
    available = bool(user.available) and online and user.is_active_member
    announced = row.announced is not None or available  # nothing to say about a rep never available
    changed = announced and row.announced != available
    if changed:
        record_event(user.organization_id, "rep.availability_changed", {
            "rep": {"id": str(user.id), "name": user.name, "email": user.email},
            "available": available, "toggled": bool(user.available), "online": online})
        row.announced = available
    row.due_at = None
    db.session.commit()
    return changed


def overdue_user_ids(limit: int = 500) -> list:
    return list(db.session.scalars(sa.select(RepAvailabilityNotice.user_id).where(
        RepAvailabilityNotice.due_at < utcnow() - timedelta(seconds=30)).limit(limit)))
