"""Custom Scripts: an admin's JavaScript or CSS for the dashboard or the widget, with its versions,
what it reported from browsers, the audit log of every change, and the organization's kill switch."""

import hashlib
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk

SURFACES = ("dashboard", "widget")
KINDS = ("js", "css")


class CustomScript(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    name: Mapped[str] = mapped_column(sa.String(120))
    surface: Mapped[str] = mapped_column(sa.String(16))
    kind: Mapped[str] = mapped_column(sa.String(8))
    # where it runs: dashboard page names or widget steps, and site ids; empty = everywhere
    screens: Mapped[list] = mapped_column(sa.JSON, default=list)
    site_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)  # the number of the version that runs
    error_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list["CustomScriptVersion"]] = relationship(
        back_populates="script", order_by="CustomScriptVersion.number.desc()", cascade="all, delete-orphan"
    )

    @property
    def current(self) -> "CustomScriptVersion":
        return next(v for v in self.versions if v.number == self.version)


class CustomScriptVersion(db.Model):
    """One saved content of a script; never changed once written (its URL is cached for a year)."""

    __table_args__ = (sa.UniqueConstraint("script_id", "number"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    script_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("custom_script.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    content: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    author_name: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = created_at()

    script: Mapped[CustomScript] = relationship(back_populates="versions")

    @staticmethod
    def digest(content: str) -> str:
        return hashlib.sha256(content.encode()).hexdigest()


class CustomScriptLog(db.Model):
    """A line a script logged with ctx.log(), or an error the runtime caught, as a browser posted it."""

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    script_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("custom_script.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[str] = mapped_column(sa.String(8))
    message: Mapped[str] = mapped_column(sa.String(500))
    screen: Mapped[str] = mapped_column(sa.String(40), default="")
    version: Mapped[int | None]
    created_at: Mapped[datetime] = created_at()


class CustomScriptAudit(db.Model):
    """Who changed what and when; kept after the script is deleted (its name is copied)."""

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    script_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    script_name: Mapped[str] = mapped_column(sa.String(120), default="")
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    user_name: Mapped[str] = mapped_column(sa.String(200), default="")
    action: Mapped[str] = mapped_column(sa.String(30))
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = created_at()


class CustomScriptSettings(db.Model):
    """The organization's kill switch: when on, no script runs anywhere."""

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    disabled: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
