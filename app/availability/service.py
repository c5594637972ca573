"""Who can take a call now. The widget asks `anyone_available`; the rules live here."""

import sqlalchemy as sa

from app.extensions import db
from app.models import User


def anyone_available(organization_id) -> bool:
    """True when an active member of the organization has toggled Available."""
    return bool(db.session.scalar(
        sa.select(User.id).where(
            User.organization_id == organization_id, User.available.is_(True),
            User.is_active_member.is_(True),
        ).limit(1)
    ))
