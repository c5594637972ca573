"""Per-site widget settings (Widget → Widget Settings), theme and the qualification flow."""

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import i18n
from app.extensions import db
from app.models.base import org_fk, uuid_pk
from app.models.sites import Site

CONTACT_MODES = ("off", "optional", "required")
CALL_TYPES = ("video", "audio", "choice")
# off: never record; notice: record and tell the visitor; consent: record only after they agree
RECORDING_POLICIES = ("off", "notice", "consent")
BADGE_POSITIONS = ("bottom-right", "bottom-left")
QUESTION_TYPES = ("text", "number", "single_select", "multi_select")
# what a disqualified visitor sees: a message, the calendar link, or the call anyway
DISQUALIFIED_ACTIONS = ("message", "calendar", "leave_details", "call_anyway")

# Every step of the visitor's flow has its copy; admins edit these on Widget → Theme.
DEFAULT_COPY = {
    "welcomeTitle": "Talk to our team",
    "start": "Start",
    "next": "Next",
    "back": "Back",
    "questionsHint": "A few quick questions so we connect you with the right person.",
    "contactTitle": "How can we reach you?",
    "contactHint": "In case the call drops, we will get back to you.",
    "ready": "You're all set. Someone is ready to talk now.",
    "callNow": "Call now",
    "videoCall": "Video call",
    "audioCall": "Audio call",
    "waiting": "Calling our team… someone will pick up in a moment.",
    "connected": "You're connected.",
    "ended": "Thanks for talking with us!",
    "unavailable": "Nobody can take a call right now.",
    "missed": "Sorry, nobody could pick up. Book a time instead?",
    "disqualified": "Thanks! Based on your answers, a live call isn't the best fit. We'll be in touch.",
    "calendar": "Book a time",
    "leaveDetails": "Leave your details and we will call you back.",
    "rateLimited": "You asked for several calls in a short time. Leave your details for a callback.",
    "callbackThanks": "Thanks! We have your details and will call you back.",
    "recordingNotice": "This call will be recorded.",
    "recordingConsent": "I agree to this call being recorded.",
}


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
    # other hostnames the widget may run on (e.g. www.), matched exactly like the site's domain
    domain_aliases: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    # the widget's language (a catalogue code in app/i18n), and whether it follows the visitor's browser
    language: Mapped[str] = mapped_column(sa.String(8), default="en", server_default="en")
    follow_browser_language: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    site: Mapped[Site] = relationship(
        backref=sa.orm.backref("widget_settings", uselist=False, cascade="all, delete-orphan")
    )


class WidgetTheme(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    site_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), unique=True)
    primary_color: Mapped[str] = mapped_column(sa.String(7), default="#4f46e5")
    background_color: Mapped[str] = mapped_column(sa.String(7), default="#ffffff")
    text_color: Mapped[str] = mapped_column(sa.String(7), default="#1c2030")
    button_color: Mapped[str] = mapped_column(sa.String(7), default="#4f46e5")
    button_text_color: Mapped[str] = mapped_column(sa.String(7), default="#ffffff")
    font_family: Mapped[str] = mapped_column(sa.String(40), default="system")
    border_radius: Mapped[int] = mapped_column(default=12)
    badge_position: Mapped[str] = mapped_column(sa.String(16), default="bottom-right")
    # step -> text; missing keys fall back to DEFAULT_COPY
    copy: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    site: Mapped[Site] = relationship(
        backref=sa.orm.backref("widget_theme", uselist=False, cascade="all, delete-orphan")
    )

    def overrides(self) -> dict[str, dict]:
        """The admin's copy per language: {code: {key: text}}. Rows saved before the widget had
        languages hold one flat {key: text}: that was English."""
        copy = self.copy or {}
        if any(isinstance(v, str) for v in copy.values()):
            return {"en": {k: v for k, v in copy.items() if isinstance(v, str)}}
        return {code: dict(v) for code, v in copy.items() if isinstance(v, dict)}

    def copy_with_defaults(self, language: str = "en") -> dict:
        """Every copy key in `language`: the admin's text where they wrote one, else the catalogue's."""
        strings = i18n.catalogue(language)
        base = {k: strings.get(k, v) for k, v in DEFAULT_COPY.items()}
        own = self.overrides().get(language, {})
        return {**base, **{k: v for k, v in own.items() if k in DEFAULT_COPY and v}}


class QualificationFlow(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    site_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("site.id", ondelete="CASCADE"), unique=True)
    disqualified_action: Mapped[str] = mapped_column(sa.String(16), default="message")

    site: Mapped[Site] = relationship(
        backref=sa.orm.backref("qualification_flow", uselist=False, cascade="all, delete-orphan")
    )
    questions: Mapped[list["QualificationQuestion"]] = relationship(
        back_populates="flow", cascade="all, delete-orphan",
        order_by="QualificationQuestion.position",
    )


class QualificationQuestion(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    flow_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qualification_flow.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(sa.String(200))
    type: Mapped[str] = mapped_column(sa.String(16), default="text")
    required: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=1)
    min_value: Mapped[float | None] = mapped_column(sa.Float)
    max_value: Mapped[float | None] = mapped_column(sa.Float)

    flow: Mapped[QualificationFlow] = relationship(back_populates="questions")
    options: Mapped[list["QualificationOption"]] = relationship(
        back_populates="question", cascade="all, delete-orphan",
        order_by="QualificationOption.position",
    )

    @property
    def has_options(self) -> bool:
        return self.type in ("single_select", "multi_select")


class QualificationOption(db.Model):
    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    question_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qualification_question.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(sa.String(120))
    value: Mapped[str] = mapped_column(sa.String(120))
    position: Mapped[int] = mapped_column(default=1)
    # choosing an option that disqualifies makes the visitor disqualified
    disqualifies: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    question: Mapped[QualificationQuestion] = relationship(back_populates="options")


def _unsaved(model, site: Site):
    """A `model` row for `site` filled with its column defaults and kept out of the session: pages
    show what a site nobody configured gets without writing it (the first save creates the row)."""
    row = model(organization_id=site.organization_id, site_id=site.id)
    for column in model.__table__.columns:
        if column.default is not None and not column.primary_key and getattr(row, column.key) is None:
            arg = column.default.arg
            setattr(row, column.key, arg(None) if column.default.is_callable else arg)
    return row


def current_settings(site: Site) -> WidgetSettings:
    """The site's saved settings, else the defaults (unsaved)."""
    return site.widget_settings or _unsaved(WidgetSettings, site)


def current_theme(site: Site) -> WidgetTheme:
    """The site's saved theme, else the default one (unsaved)."""
    return site.widget_theme or _unsaved(WidgetTheme, site)


def current_flow(site: Site) -> QualificationFlow:
    """The site's saved qualification flow, else an empty one (unsaved)."""
    return site.qualification_flow or _unsaved(QualificationFlow, site)


def settings_for(site: Site) -> WidgetSettings:
    """The site's settings, created with the defaults the first time they are needed."""
    if site.widget_settings is None:
        site.widget_settings = WidgetSettings(organization_id=site.organization_id)
        db.session.flush()
    return site.widget_settings


def theme_for(site: Site) -> WidgetTheme:
    """The site's theme, created with the defaults the first time it is needed."""
    if site.widget_theme is None:
        site.widget_theme = WidgetTheme(organization_id=site.organization_id, copy={})
        db.session.flush()
    return site.widget_theme


def flow_for(site: Site) -> QualificationFlow:
    """The site's qualification flow (empty at first)."""
    if site.qualification_flow is None:
        site.qualification_flow = QualificationFlow(organization_id=site.organization_id)
        db.session.flush()
    return site.qualification_flow
