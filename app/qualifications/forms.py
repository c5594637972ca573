from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField
from wtforms.fields import FloatField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

TYPE_CHOICES = [("text", "Text"), ("number", "Number"), ("single_select", "Single select"),
                ("multi_select", "Multi select")]
ACTION_CHOICES = [("message", "Show the disqualified message"),
                  ("calendar", "Show the calendar link (Widget Settings)"),
                  ("call_anyway", "Let them call anyway")]
BLANK_OPTION_ROWS = 2


class OptionForm(Form):
    label = StringField("Label", validators=[Length(max=120, message="Under 120 characters.")])
    value = StringField("Value", validators=[Length(max=120, message="Under 120 characters.")])
    disqualifies = BooleanField("Disqualifies")


class FlowForm(FlaskForm):
    disqualified_action = SelectField("When a visitor is disqualified", choices=ACTION_CHOICES)


class QuestionForm(FlaskForm):
    label = StringField("Question", validators=[
        DataRequired("Write the question."), Length(max=200, message="Keep it under 200 characters.")])
    type = SelectField("Answer type", choices=TYPE_CHOICES)
    required = BooleanField("Required")
    min_value = FloatField("Minimum", validators=[Optional()])
    max_value = FloatField("Maximum", validators=[Optional()])
    options = FieldList(FormField(OptionForm), min_entries=0)

    def validate_max_value(self, field):
        if self.type.data == "number" and None not in (field.data, self.min_value.data) \
                and field.data < self.min_value.data:
            raise ValidationError("The maximum is below the minimum.")

    def validate_options(self, field):
        if self.type.data not in ("single_select", "multi_select"):
            return
        rows = self.filled_options()
        if len(rows) < 2:
            raise ValidationError("Give at least two options to choose from.")
        values = [value for _, value, _ in rows]
        if len(set(values)) != len(values):
            raise ValidationError("Two options have the same value: each needs its own.")
        if all(disqualifies for *_, disqualifies in rows):
            raise ValidationError("Every option disqualifies: leave at least one that qualifies.")

    def filled_options(self) -> list[tuple[str, str, bool]]:
        """(label, value, disqualifies) of the rows with a label; the value defaults to the label."""
        rows = []
        for entry in self.options.entries:
            label = (entry.form.label.data or "").strip()
            if label:
                value = (entry.form.value.data or "").strip() or label
                rows.append((label, value, entry.form.disqualifies.data))
        return rows

    def load(self, question) -> None:
        for name in ("label", "type", "required", "min_value", "max_value"):
            getattr(self, name).data = getattr(question, name)
        for option in question.options:
            self.options.append_entry({"label": option.label, "value": option.value,
                                       "disqualifies": option.disqualifies})
        self.pad()

    def pad(self) -> None:
        """Blank rows to add options without any script."""
        filled = len(self.filled_options())
        while len(self.options.entries) < filled + BLANK_OPTION_ROWS:
            self.options.append_entry()
