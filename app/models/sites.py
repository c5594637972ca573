"""Customer websites: a domain and the public key the widget sends."""

import secrets
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk


def new_public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


class Site(db.Model):
    __table_args__ = (sa.UniqueConstraint("organization_id", "domain"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    domain: Mapped[str] = mapped_column(sa.String(253))
    public_key: Mapped[str] = mapped_column(sa.String(40), unique=True, default=new_public_key)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
