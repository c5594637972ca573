"""Invalidate the cached availability answer whenever a commit changes what it depends on.

Hooking the session catches every writer, including other features' (a teammate removed, a
widget setting saved): no code path can forget to invalidate. Bulk statements bypass the
session and call service.invalidate themselves.
"""

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from app.models import (
    BusyBlock,
    DateOverride,
    DefaultSchedule,
    RepSchedule,
    User,
    WidgetSettings,
)

WATCHED = (User, RepSchedule, DefaultSchedule, DateOverride, BusyBlock, WidgetSettings)
PENDING = "availability_orgs"  # session.info key: orgs whose answer this transaction changes


def _collect(session, flush_context):
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, WATCHED):
            # read the loaded value only: touching an expired attribute here would query mid-flush
            org_id = sa.inspect(obj).dict.get("organization_id")
            if org_id is not None:
                session.info.setdefault(PENDING, set()).add(org_id)


def _invalidate(session):
    from app.availability.service import invalidate

    for org_id in session.info.pop(PENDING, ()):
        try:
            invalidate(org_id)
        except RedisError:
            # the commit stands; a stale cached answer expires by itself (AVAILABILITY_CACHE_SECONDS)
            current_app.logger.warning("could not invalidate availability of %s", org_id, exc_info=True)


def _forget(session):
    session.info.pop(PENDING, None)


def init_signals() -> None:
    """Listen on every session, once per process."""
    if not sa.event.contains(Session, "after_flush", _collect):
        sa.event.listen(Session, "after_flush", _collect)
        sa.event.listen(Session, "after_commit", _invalidate)
        sa.event.listen(Session, "after_rollback", _forget)
