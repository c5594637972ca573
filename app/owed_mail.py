"""Emails (invites, password resets, a new callback to its team) as owed work: a row first,
then a job with a fixed id.

Redis may lose the job (restarted empty, a worker killed): the cron pass `resend_lost` enqueues
every row whose job is gone again, under the same id, so a live job is never doubled. The row goes
once the email is sent, or after a day (a link has expired by then; a callback is on its page).
"""

import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from rq import Retry

from app.crypto import decrypt, encrypt
from app.extensions import db
from app.jobs import enqueue, job_alive
from app.models import OwedEmail
from app.models.base import utcnow

log = logging.getLogger(__name__)
# kind -> the job that renders and sends it (it checks the invite, user or callback still wants it)
SENDERS = {"invite": "app.team.jobs.send_invite_email", "password_reset": "app.auth.jobs.send_password_reset",
           "callback": "app.callbacks.jobs.email_callback"}
GIVE_UP = timedelta(days=1)


def owe(kind: str, subject_id, link: str) -> OwedEmail:
    """Write the owed email, then enqueue it; without Redis the cron pass sends it later."""
    row = OwedEmail(kind=kind, subject_id=subject_id, link_encrypted=encrypt(link))
    db.session.add(row)
    db.session.commit()
    try:
        _enqueue(row)
    except RedisError:
        log.warning("%s email %s not enqueued (Redis unavailable): the cron pass sends it", kind, row.id)
    return row


def _job_id(row_id) -> str:
    return f"owed-email-{row_id}"


def _enqueue(row: OwedEmail) -> None:
    enqueue(send, str(row.id), job_id=_job_id(row.id), retry=Retry(max=3, interval=[10, 60, 300]))


def send(row_id: str) -> bool:
    """The job: send it (the kind's sender decides it is still wanted), then forget it."""
    row = db.session.get(OwedEmail, uuid.UUID(row_id))
    if row is None:
        return False  # sent already
    module, _, name = SENDERS[row.kind].rpartition(".")
    sender = getattr(__import__(module, fromlist=[name]), name)
    sent = sender(str(row.subject_id), decrypt(row.link_encrypted))
    db.session.delete(row)
    db.session.commit()
    return sent


def resend_lost(limit: int = 500) -> int:
    """The cron pass: owed emails whose job is gone are enqueued again; day-old ones are dropped."""
    now = utcnow()
    db.session.execute(sa.delete(OwedEmail).where(OwedEmail.created_at <= now - GIVE_UP))
    db.session.commit()
    grace = timedelta(seconds=max(current_app.config["OWED_SWEEP_SECONDS"], 30))
    rows = db.session.scalars(sa.select(OwedEmail).where(OwedEmail.created_at <= now - grace)
                              .order_by(OwedEmail.created_at).limit(limit)).all()
    lost = [row for row in rows if not job_alive(_job_id(row.id))]
    for row in lost:
        _enqueue(row)
    return len(lost)
