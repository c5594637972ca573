import re

from wtforms import BooleanField, FieldList, FormField, SelectField, StringField
from wtforms.fields import FloatField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.forms import Form, SubForm

TYPE_CHOICES = [("text", "Text"), ("number", "Number"), ("single_select", "Single select"),
                ("multi_select", "Multi select")]
ACTION_CHOICES = [("message", "Show the disqualified message"),
                  ("calendar", "Show the calendar link (Widget Settings)"),
                  ("leave_details", "Ask them to leave their details for a callback"),
                  ("call_anyway", "Let them call anyway")]
BLANK_OPTION_ROWS = 2
MAX_OPTIONS = 50
REMOVE_OPTION = re.compile(r"remove-option-(\d+)")


class OptionForm(SubForm):
    label = StringField("Label", validators=[Length(max=120, message="Under 120 characters.")])
    value = StringField("Value", validators=[Length(max=120, message="Under 120 characters.")])
    disqualifies = BooleanField("Disqualifies")


class FlowForm(Form):
    disqualified_action = SelectField("When a visitor is disqualified", choices=ACTION_CHOICES)


class QuestionForm(Form):
    focus_option = None
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
        if len(rows) > MAX_OPTIONS:
            raise ValidationError(f"Keep it to {MAX_OPTIONS} options at the most.")
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

    @property
    def dom_id(self) -> str:
        return self._prefix + "form"

    def edit_options(self, op: str) -> bool:
        """The option rows' own buttons, which change the form without saving it (and work without
        JavaScript): "add-option" adds a blank row, "remove-option-N" drops row N. False for a save.
        `focus_option` is the row to put the cursor in when the form is shown again."""
        entries = self.options.entries
        removed = REMOVE_OPTION.fullmatch(op)
        if op == "add-option":
            if len(entries) < MAX_OPTIONS:
                self.options.append_entry()
            self.focus_option = len(entries) - 1
        elif removed:
            index = int(removed[1])
            if index < len(entries):
                del entries[index]
            self.focus_option = min(index, len(entries) - 1)
        return op == "add-option" or removed is not None

    def pad(self) -> None:
        """Blank rows to add options without any script."""
        filled = len(self.filled_options())
        while len(self.options.entries) < filled + BLANK_OPTION_ROWS:
            self.options.append_entry()
