"""Refused call requests: each one a row, so "Who can take a call" shows what visitors met."""

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import CallRefusal
from app.models.base import utcnow

# reason -> what an admin reads
REASONS = {
    "rate_limited_ip": "Too many call requests from one address",
    "rate_limited_visitor": "Too many call requests from one visitor",
    "rate_limited_site": "Too many call requests on the site",
    "disqualified": "Disqualified by the qualification answers",
    "call_not_allowed": "Call requested without a qualification that allows one",
    "invalid_qualification": "Expired or invalid qualification",
    "contact_not_validated": "Contact details that /widget/qualify did not check",
    "token_used_up": "Qualification used for too many calls",
    "paused": "Calls paused",
    "call_in_progress": "A call of this visitor was already ringing",
}
RETENTION = timedelta(days=30)


def record(site, reason: str, ip: str | None = None, fingerprint: str | None = None) -> None:
    """Add the refusal to the session; the caller commits (or `record_now` does)."""
    db.session.add(CallRefusal(organization_id=site.organization_id, site_id=site.id, reason=reason,
                               ip=(ip or "")[:64] or None, fingerprint=(fingerprint or "")[:128] or None))


def record_now(site, reason: str, ip: str | None = None, fingerprint: str | None = None) -> None:
    db.session.rollback()  # nothing of the refused request is kept but the refusal itself
    record(site, reason, ip, fingerprint)
    db.session.commit()


def counts_last_day(organization_id) -> list[tuple[str, str, int]]:
    """(reason, label, count) of the last 24 hours, most frequent first."""
    since = utcnow() - timedelta(hours=24)
    rows = db.session.execute(
        sa.select(CallRefusal.reason, sa.func.count()).where(
            CallRefusal.organization_id == organization_id, CallRefusal.created_at >= since)
        .group_by(CallRefusal.reason).order_by(sa.func.count().desc())).all()
    return [(reason, REASONS.get(reason, reason), count) for reason, count in rows]


def purge_old() -> int:
    """Forget refusals older than the retention (a cron pass)."""
    result = db.session.execute(sa.delete(CallRefusal).where(CallRefusal.created_at < utcnow() - RETENTION))
    db.session.commit()
    return result.rowcount
