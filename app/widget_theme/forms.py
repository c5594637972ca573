import re

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

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
]
assert {k for k, _ in COPY_FIELDS} == set(DEFAULT_COPY)


def _hex_color(form, field):
    if not HEX.match(field.data or ""):
        raise ValidationError("Use a colour like #4f46e5.")


class ThemeForm(FlaskForm):
    font_family = SelectField("Font", choices=FONT_CHOICES)
    border_radius = IntegerField("Corner radius (px)", validators=[
        InputRequired("Enter a radius, 0 for square corners."), NumberRange(0, 32, "Between 0 and 32.")])
    badge_position = SelectField("Badge position", choices=[("bottom-right", "Bottom right"),
                                                            ("bottom-left", "Bottom left")])

    def load(self, theme) -> None:
        for name, _ in COLORS:
            getattr(self, name).data = getattr(theme, name)
        for name in ("font_family", "border_radius", "badge_position"):
            getattr(self, name).data = getattr(theme, name)
        copy = theme.copy_with_defaults()
        for key, _ in COPY_FIELDS:
            getattr(self, "copy_" + key).data = copy[key]

    def apply(self, theme) -> None:
        for name, _ in COLORS:
            setattr(theme, name, getattr(self, name).data.lower())
        for name in ("font_family", "border_radius", "badge_position"):
            setattr(theme, name, getattr(self, name).data)
        # only what differs from the defaults is stored: improved defaults reach every site
        texts = {key: (getattr(self, "copy_" + key).data or "").strip() for key, _ in COPY_FIELDS}
        theme.copy = {key: text for key, text in texts.items() if text and text != DEFAULT_COPY[key]}

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
