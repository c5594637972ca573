import re

from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from app import i18n
from app.forms import Form
from app.models.widget import DEFAULT_COPY
from app.widget.service import FONT_CHOICES

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
COLORS = [("primary_color", "Widget colour (badge and header)"), ("background_color", "Panel background"),
          ("text_color", "Text"), ("button_color", "Buttons"),
          ("button_text_color", "Text on buttons and badge")]
# (key, label) in the order the visitor meets them
COPY_FIELDS = [
    ("welcomeTitle", "Title (top of the panel)"), ("start", "Start button"),
    ("questionsHint", "Before the questions"), ("next", "Next button"), ("back", "Back button"),
    ("contactTitle", "Contact step: title"), ("contactHint", "Contact step: why we ask"),
    ("ready", "Ready to call"), ("recordingNotice", "Recording notice (sites that record with a notice)"),
    ("recordingConsent", "Recording consent box (sites that ask for consent)"),
    ("callNow", "Call button (video-only or audio-only)"),
    ("videoCall", "Video call button"), ("audioCall", "Audio call button"),
    ("waiting", "Waiting for a rep"), ("connected", "Connected"), ("ended", "Call ended"),
    ("unavailable", "Nobody available"), ("missed", "Nobody picked up"),
    ("disqualified", "Disqualified visitors"), ("calendar", "Calendar link button"),
    ("leaveDetails", "Asking for details for a callback"),
    ("rateLimited", "Too many call requests: asking for details instead"),
    ("callbackThanks", "Details left for a callback"),
]
assert {k for k, _ in COPY_FIELDS} == set(DEFAULT_COPY)


def _hex_color(form, field):
    if not HEX.match(field.data or ""):
        raise ValidationError("Use a colour like #4f46e5.")


class ThemeForm(Form):
    font_family = SelectField("Font", choices=FONT_CHOICES)
    border_radius = IntegerField("Corner radius (px)", validators=[
        InputRequired("Enter a radius, 0 for square corners."), NumberRange(0, 32, "Between 0 and 32.")])
    badge_position = SelectField("Badge position", choices=[("bottom-right", "Bottom right"),
                                                            ("bottom-left", "Bottom left")])
    # which language's copy this form edits (the others stay as they are)
    copy_language = HiddenField(default="en")

    def validate_copy_language(self, field):
        if field.data not in i18n.LANGUAGES:
            raise ValidationError("Choose a language from the list.")

    def load(self, theme, language: str = "en") -> None:
        for name, _ in COLORS:
            getattr(self, name).data = getattr(theme, name)
        for name in ("font_family", "border_radius", "badge_position"):
            getattr(self, name).data = getattr(theme, name)
        self.copy_language.data = language
        copy = theme.copy_with_defaults(language)
        for key, _ in COPY_FIELDS:
            getattr(self, "copy_" + key).data = copy[key]

    def apply(self, theme) -> None:
        for name, _ in COLORS:
            setattr(theme, name, getattr(self, name).data.lower())
        for name in ("font_family", "border_radius", "badge_position"):
            setattr(theme, name, getattr(self, name).data)
        # only what differs from the language's catalogue is stored: improved defaults reach every site
        language = self.copy_language.data if self.copy_language.data in i18n.LANGUAGES else "en"
        defaults = i18n.catalogue(language)
        texts = {key: (getattr(self, "copy_" + key).data or "").strip() for key, _ in COPY_FIELDS}
        overrides = theme.overrides()
        overrides[language] = {key: text for key, text in texts.items() if text and text != defaults[key]}
        theme.copy = {code: own for code, own in overrides.items() if own}

    @property
    def color_fields(self):
        return [getattr(self, name) for name, _ in COLORS]

    @property
    def copy_fields(self):
        return [getattr(self, "copy_" + key) for key, _ in COPY_FIELDS]


for _name, _label in COLORS:
    setattr(ThemeForm, _name, StringField(_label, validators=[_hex_color]))
for _key, _label in COPY_FIELDS:
    setattr(ThemeForm, "copy_" + _key, StringField(_label, validators=[
        Length(max=300, message="Keep it under 300 characters.")]))
