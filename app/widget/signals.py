"""Drop the widget's cached site entries whenever a commit changes what they hold.

The admin pages and the API drop them as they save (service.invalidate); hooking the session
catches every other writer too (an automation, a script, a bulk edit, a future feature): a call
request takes the site's settings from the entry (calls.service.CallSite), so a stale one would
ring a paused site or keep an old ring timeout.
"""

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError

from app.database import after_commits_changing
from app.extensions import db
from app.models import (
    QualificationFlow,
    QualificationOption,
    QualificationQuestion,
    Site,
    WidgetSettings,
    WidgetTheme,
)

WATCHED = (Site, WidgetSettings, WidgetTheme, QualificationFlow, QualificationQuestion, QualificationOption)


def _forget_entries(org_id) -> None:
    from app.widget.service import forget_entry

    # after the commit the session may not run SQL: a connection of its own reads the keys
    with db.engine.connect() as connection:
        keys = connection.scalars(sa.select(Site.public_key).where(Site.organization_id == org_id)).all()
    try:
        for key in keys:
            forget_entry(key)
    except RedisError:
        # the commit stands; Redis's copy expires by itself (WIDGET_CONFIG_CACHE_SECONDS)
        current_app.logger.warning("could not drop the widget entries of %s", org_id, exc_info=True)


def init_signals() -> None:
    """Once per process: each commit that changes a site's widget drops its cached entries."""
    after_commits_changing("widget_orgs", lambda obj, deleted: isinstance(obj, WATCHED), _forget_entries)
