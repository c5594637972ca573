"""Invalidate the cached availability answer whenever a commit changes what it depends on.

Hooking the session catches every writer, including other features' (a teammate removed, a
widget setting saved): no code path can forget to invalidate. Bulk statements bypass the
session and call service.invalidate themselves.
"""

from flask import current_app
from redis.exceptions import RedisError

from app.database import after_commits_changing
from app.models import (
    BusyBlock,
    DateOverride,
    DefaultSchedule,
    RepSchedule,
    User,
    WidgetSettings,
)

WATCHED = (User, RepSchedule, DefaultSchedule, DateOverride, BusyBlock, WidgetSettings)


def _invalidate(org_id) -> None:
    from app.availability.service import invalidate

    try:
        invalidate(org_id)
    except RedisError:
        # the commit stands; a stale cached answer expires by itself (AVAILABILITY_CACHE_SECONDS)
        current_app.logger.warning("could not invalidate availability of %s", org_id, exc_info=True)


def init_signals() -> None:
    """Once per process: each commit that changes what the answer depends on invalidates it."""
    after_commits_changing("availability_orgs", lambda obj, deleted: isinstance(obj, WATCHED), _invalidate)
