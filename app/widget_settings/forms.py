import re

from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from app import i18n
from app.forms import Form
from app.models.widget import RECORDING_POLICIES
from app.sites.service import InvalidDomain, normalize_domain
from app.widget.countries import CODES, HINTS

CONTACT_CHOICES = [("required", "Required"), ("optional", "Optional"), ("off", "Don't ask")]
CALL_TYPE_CHOICES = [("choice", "Visitor's choice"), ("video", "Video"), ("audio", "Audio only")]
LANGUAGE_CHOICES = list(i18n.LANGUAGES.items())
RECORDING_CHOICES = [("off", "Don't record calls"), ("notice", "Record, and tell the visitor"),
                     ("consent", "Record only when the visitor agrees")]


def parse_countries(text: str) -> list[str]:
    """'us, ca DE' -> ['US', 'CA', 'DE']; raise ValueError naming the first unknown code."""
    codes = []
    for code in re.split(r"[\s,;]+", (text or "").strip().upper()):
        if not code:
            continue
        if code not in CODES:
            hint = f" Did you mean {HINTS[code]}?" if code in HINTS else ""
            raise ValueError(f"{code} is not a two-letter country code (ISO 3166).{hint}")
        if code not in codes:
            codes.append(code)
    return codes


def parse_aliases(text: str, site_domain: str) -> list[str]:
    aliases = []
    for line in re.split(r"[\s,]+", (text or "").strip()):
        if not line:
            continue
        try:
            domain = normalize_domain(line)
        except InvalidDomain as e:
            raise ValueError(f"{line}: {e}") from e
        if domain != site_domain and domain not in aliases:
            aliases.append(domain)
    if len(aliases) > 20:
        raise ValueError("Add at most 20 other domains.")
    return aliases


class WidgetSettingsForm(Form):
    badge_label = StringField("Badge label", validators=[
        DataRequired("The badge needs a label."),
        Length(max=60, message="Keep the label under 60 characters.")])
    welcome_text = TextAreaField("Welcome copy", validators=[
        DataRequired("Write a short welcome."), Length(max=500, message="Keep it under 500 characters.")])
    collect_email = SelectField("Ask for the visitor's email", choices=CONTACT_CHOICES)
    collect_phone = SelectField("Ask for the visitor's phone", choices=CONTACT_CHOICES)
    countries = StringField("Countries to show the badge in")
    domain_aliases = TextAreaField("Other domains of this site")
    open_on_load = BooleanField("Open the widget when the page loads")
    hide_when_unavailable = BooleanField("Hide the badge when no one is available")
    paused = BooleanField("Pause incoming calls")
    calendar_url = StringField("Calendar link (fallback)", validators=[
        Optional(), URL(require_tld=False, message="Enter a full link, starting with https://"),
        Length(max=500)])
    call_type = SelectField("Call type offered", choices=CALL_TYPE_CHOICES)
    ring_timeout_seconds = IntegerField("Ring timeout (seconds)", validators=[
        DataRequired("How long should reps' dashboards ring?"),
        NumberRange(10, 300, "Between 10 and 300 seconds.")])
    recording_policy = SelectField("Recording", choices=RECORDING_CHOICES, validate_choice=False)
    language = SelectField("Widget language", choices=LANGUAGE_CHOICES, validate_choice=False)
    follow_browser_language = BooleanField("Follow the visitor's browser language")

    def __init__(self, *args, site_domain: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.site_domain = site_domain

    def validate_collect_phone(self, field):
        if field.data == "off" and self.collect_email.data == "off":
            raise ValidationError("Collect at least an email or a phone number, so reps can follow up.")

    def validate_countries(self, field):
        try:
            field.parsed = parse_countries(field.data)
        except ValueError as e:
            raise ValidationError(str(e)) from e

    def validate_domain_aliases(self, field):
        try:
            field.parsed = parse_aliases(field.data, self.site_domain)
        except ValueError as e:
            raise ValidationError(str(e)) from e

    def validate_recording_policy(self, field):
        # our own message rather than WTForms' "Not a valid choice"; not sent at all keeps the saved one
        if field.raw_data and field.data not in RECORDING_POLICIES:
            raise ValidationError("Choose whether calls are recorded: off, with a notice, or with consent.")

    def validate_language(self, field):
        # not sent at all (an older form) keeps the saved language
        if field.raw_data and field.data not in i18n.LANGUAGES:
            raise ValidationError("Choose a language from the list.")

    def validate_calendar_url(self, field):
        if field.data and not field.data.lower().startswith(("https://", "http://")):
            raise ValidationError("Enter a full link, starting with https://")

    def load(self, settings) -> None:
        """Fill the form from saved settings (on GET)."""
        for name in ("badge_label", "welcome_text", "collect_email", "collect_phone", "open_on_load",
                     "hide_when_unavailable", "paused", "calendar_url", "call_type", "ring_timeout_seconds",
                     "recording_policy", "language", "follow_browser_language"):
            getattr(self, name).data = getattr(settings, name)
        self.countries.data = ", ".join(settings.countries or [])
        self.domain_aliases.data = "\n".join(settings.domain_aliases or [])

    def apply(self, settings) -> None:
        """Copy validated values onto settings (saved, or a throwaway copy for the preview)."""
        for name in ("badge_label", "welcome_text", "collect_email", "collect_phone", "open_on_load",
                     "hide_when_unavailable", "paused", "call_type", "ring_timeout_seconds"):
            setattr(settings, name, getattr(self, name).data)
        if self.recording_policy.raw_data:
            settings.recording_policy = self.recording_policy.data
        if self.language.raw_data:
            settings.language = self.language.data
            settings.follow_browser_language = self.follow_browser_language.data
        settings.badge_label = settings.badge_label.strip()
        settings.calendar_url = (self.calendar_url.data or "").strip() or None
        settings.countries = self.countries.parsed
        settings.domain_aliases = self.domain_aliases.parsed
