"""Availability's jobs: announcing a rep's change (debounced), and cron's pass over lost checks."""

import uuid

from app.availability import announce


def check_availability_change(user_id) -> bool:
    # the job's argument is the id as text (jobs take no objects); the model's key is a UUID
    return announce.check(uuid.UUID(str(user_id)))


def check_overdue_availability_changes() -> int:
    """cron: checks whose job was lost (Redis down at that moment) are made now."""
    ids = announce.overdue_user_ids()
    for user_id in ids:
        announce.check(user_id)
    return len(ids)


def sweep_faded_presence() -> int:
    """cron: reps whose dashboards faded out (their process died without closing the socket) went
    offline: the cached answer of their organization is dropped, as a clean close drops it."""
    from app.availability.announce import note_change
    from app.availability.service import invalidate
    from app.realtime import presence

    faded = presence.take_faded()
    for organization_id, user_ids in faded.items():
        invalidate(organization_id)
        for user_id in user_ids:
            note_change(uuid.UUID(user_id), uuid.UUID(organization_id))
    return sum(len(ids) for ids in faded.values())
