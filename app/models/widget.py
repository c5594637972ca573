"""Per-site widget settings (Widget → Widget Settings). Theme and questions live beside them."""

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import org_fk, uuid_pk
from app.models.sites import Site

CONTACT_MODES = ("off", "optional", "required")
CALL_TYPES = ("video", "audio", "choice")
# off: never record; notice: record and tell the visitor; consent: record only after they agree
RECORDING_POLICIES = ("off", "notice", "consent")


class WidgetSettings(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    site_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("site.id", ondelete="CASCADE"), unique=True
    )
    badge_label: Mapped[str] = mapped_column(sa.String(60), default="Talk to us live")
    welcome_text: Mapped[str] = mapped_column(
        sa.String(500), default="Talk to someone on our team right now, by video or audio."
    )
    collect_email: Mapped[str] = mapped_column(sa.String(10), default="required")
    collect_phone: Mapped[str] = mapped_column(sa.String(10), default="optional")
    # ISO 3166-1 alpha-2 codes; empty means everywhere
    countries: Mapped[list] = mapped_column(sa.JSON, default=list)
    open_on_load: Mapped[bool] = mapped_column(default=False)
    hide_when_unavailable: Mapped[bool] = mapped_column(default=False)
    paused: Mapped[bool] = mapped_column(default=False)
    calendar_url: Mapped[str | None] = mapped_column(sa.String(500))
    call_type: Mapped[str] = mapped_column(sa.String(10), default="choice")
    ring_timeout_seconds: Mapped[int] = mapped_column(default=45)
    recording_policy: Mapped[str] = mapped_column(sa.String(10), default="off", server_default="off")

    site: Mapped[Site] = relationship(
        backref=sa.orm.backref("widget_settings", uselist=False, cascade="all, delete-orphan")
    )


def settings_for(site: Site) -> WidgetSettings:
    """The site's settings, created with the defaults the first time they are needed."""
    if site.widget_settings is None:
        site.widget_settings = WidgetSettings(organization_id=site.organization_id)
        db.session.flush()
    return site.widget_settings
