"""Drop the widget's cached site entries whenever a commit changes a site or its settings.

The admin pages and the API drop them as they save (service.invalidate); hooking the session
catches every other writer too (an automation, a script, a bulk edit, a future feature): a call
request takes the site's settings from the entry (calls.service.CallSite), so a stale one would
ring a paused site or keep an old ring timeout. A row being created is not a change of what an
entry holds: an entry is built from a site's rows, and building one creates the rows its site
lacks, with their defaults (dropping it then would only make the next visitor build it again).
"""

import sqlalchemy as sa
from app.database import after_commits_changing
from app.extensions import db
from app.models import Site, WidgetSettings

WATCHED = (Site, WidgetSettings)


def _changes_an_entry(obj, deleted: bool) -> bool:
    """A site or its settings deleted, or a column of theirs changed (a relationship set on them
    is not a change of what the entry holds)."""
    if not isinstance(obj, WATCHED):
        return False
    state = sa.inspect(obj)
    return deleted or (not state.pending and any(
        state.attrs[column.key].history.has_changes() for column in state.mapper.column_attrs))


def _forget_entries(org_id) -> None:
    """Without Redis the commit stands: forget_entry goes on (Redis's copy expires by itself)."""
    from app.widget.service import forget_entry

    # after the commit the session may not run SQL: a connection of its own reads the keys
    with db.engine.connect() as connection:
        keys = connection.scalars(sa.select(Site.public_key).where(Site.organization_id == org_id)).all()
    for key in keys:
        forget_entry(key)


def init_signals() -> None:
    """Once per process: each commit that changes a site or its settings drops its cached entries."""
    after_commits_changing("widget_orgs", _changes_an_entry, _forget_entries)
