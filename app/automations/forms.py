"""The Automations page's forms: a rule's settings, one condition, one action (fields by kind)."""

from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from app.automations import actions, conditions, rendering
from app.events import registered
from app.forms import Form
from app.outbound import UnsafeURL, parse


def trigger_choices() -> list[tuple[str, str]]:
    """Every event type of the registry: a rule can react to any of them."""
    return [(e.type, f"{e.type} — {e.description}") for e in registered() if e.subscribable]


class RuleForm(Form):
    name = StringField("Name", validators=[DataRequired("Give the rule a name."), Length(max=120)])
    trigger = SelectField("When this happens", validators=[DataRequired("Pick the event.")])
    match = RadioField("Run when", default="all", choices=[
        ("all", "all the conditions hold"), ("any", "any of the conditions holds")])
    enabled = BooleanField("On", default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trigger.choices = trigger_choices()


class ConditionForm(Form):
    field = SelectField("Check", choices=[(k, v[0]) for k, v in conditions.FIELDS.items()])
    key = StringField("Which one", validators=[Length(max=120)])
    op = SelectField("How", choices=list(conditions.OPS.items()))
    value = StringField("Value", validators=[Length(max=500)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        label, keyed, key_label = conditions.FIELDS[self.field.data]
        if keyed and not (self.key.data or "").strip():
            self.key.errors.append(f"Enter the {key_label.split(' (')[0].lower()} to check.")
            valid = False
        key = (self.key.data or "").strip().lower()
        if self.field.data == "contact" and key and key not in conditions.CONTACT_FIELDS:
            self.key.errors.append("Write name, email or phone.")
            valid = False
        problem = conditions.check_value(self.field.data, self.op.data, self.value.data)
        if problem:
            self.value.errors.append(problem)
            valid = False
        return valid

    def condition(self) -> dict:
        keyed = conditions.FIELDS[self.field.data][1]
        return {"field": self.field.data, "key": (self.key.data or "").strip() if keyed else "",
                "op": self.op.data,
                "value": "" if self.op.data in conditions.NO_VALUE else self.value.data.strip()}


UNITS = {"minutes": 1, "hours": 60, "days": 1440}


class ActionForm(Form):
    kind = SelectField("Do this", choices=list((k, v) for k, v in actions.KINDS.items()
                                                if k not in actions.ALERT_KINDS))
    channel_id = SelectField("Slack channel", choices=[], validate_choice=False)
    template = TextAreaField("Message", validators=[Length(max=5000)])
    subject = StringField("Subject", validators=[Length(max=200)])
    to = RadioField("Send to", choices=list(actions.EMAIL_TO.items()), default="teammate")
    user_id = SelectField("Teammate", choices=[], validate_choice=False)
    team_id = SelectField("Team", choices=[], validate_choice=False)
    address = StringField("Email address", validators=[Optional(), Email("Enter an email address."),
                                                       Length(max=254)])
    url = StringField("Endpoint URL", validators=[Length(max=2048)])
    tag = StringField("Tag", validators=[Length(max=64)])
    target = RadioField("Assign", choices=list(actions.ASSIGN_TARGETS.items()), default="contact")
    amount = IntegerField("Wait for", default=2,
                          validators=[Optional(), NumberRange(1, 1000, "Between 1 and 1000.")])
    unit = SelectField("Unit", choices=[(u, u) for u in UNITS], default="hours")
    unless = SelectField("Then", choices=list(actions.UNLESS.items()), default="")

    def __init__(self, *args, channels=(), teammates=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.channel_id.choices = [("", "Pick a channel")] + [(c["id"], f"#{c['name']}") for c in channels]
        self.user_id.choices = [("", "Pick a teammate")] + [
            (str(u.id), f"{u.name} <{u.email}>") for u in teammates]
        self.team_id.choices = [("", "Pick a team")] + [(str(t.id), t.name) for t in teams]
        self._teams = {str(t.id) for t in teams}
        self._channels = {c["id"]: c["name"] for c in channels}
        self._teammates = {str(u.id) for u in teammates}

    def _need(self, field, message) -> bool:
        if not (field.data or "").strip():
            field.errors.append(message)
            return False
        return True

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self._check_kind() and valid

    def _check_kind(self) -> bool:
        kind, ok = self.kind.data, True
        if kind in ("slack", "discord", "email", "webhook") and self.template.data:
            problem = rendering.check(self.template.data)
            if problem:
                self.template.errors.append(problem)
                ok = False
        if kind in ("slack", "discord", "email"):
            ok = self._need(self.template, "Write the message.") and ok
        if kind == "slack" and self.channel_id.data not in self._channels:
            self.channel_id.errors.append("Pick one of the workspace's channels.")
            ok = False
        if kind == "email":
            ok = self._check_email() and ok
        if kind == "webhook":
            ok = self._check_url() and ok
        if kind == "tag":
            ok = self._need(self.tag, "Enter the tag, e.g. hot-lead.") and ok
        if kind == "assign" and (self.user_id.data in self._teammates) == (self.team_id.data in self._teams):
            self.user_id.errors.append("Pick the rep, or the team (one of them).")
            ok = False
        if kind == "delay" and not self.amount.data:
            self.amount.errors.append("Enter how long to wait.")
            ok = False
        return ok

    def _check_email(self) -> bool:
        if self.subject.data and rendering.check(self.subject.data):
            self.subject.errors.append(rendering.check(self.subject.data))
            return False
        if self.to.data == "address":
            return self._need(self.address, "Enter the email address.")
        if self.to.data == "teammate" and self.user_id.data not in self._teammates:
            self.user_id.errors.append("Pick the teammate.")
            return False
        if self.to.data == "members" and self.team_id.data not in self._teams:
            self.team_id.errors.append("Pick the team.")
            return False
        return True

    def _check_url(self) -> bool:
        if not self._need(self.url, "Enter the URL to call."):
            return False
        try:
            parse(self.url.data.strip())
        except UnsafeURL as e:
            self.url.errors.append(str(e))
            return False
        return True

    def action(self, action_id: str) -> dict:
        """The action as the rule stores it: only the settings its kind uses."""
        kind, base = self.kind.data, {"id": action_id, "kind": self.kind.data}
        if kind == "slack":
            return {**base, "channel_id": self.channel_id.data,
                    "channel_name": self._channels[self.channel_id.data], "template": self.template.data}
        if kind == "discord":
            return {**base, "template": self.template.data}
        if kind == "email":
            return {**base, "to": self.to.data,
                    "user_id": self.user_id.data if self.to.data == "teammate" else None,
                    "team_id": self.team_id.data if self.to.data == "members" else None,
                    "address": self.address.data.strip() if self.to.data == "address" else None,
                    "subject": self.subject.data, "template": self.template.data}
        if kind == "webhook":
            return {**base, "url": self.url.data.strip(), "template": self.template.data}
        if kind == "tag":
            return {**base, "tag": self.tag.data.strip()}
        if kind == "assign":
            team = self.team_id.data if self.team_id.data in self._teams else None
            return {**base, "target": self.target.data, "user_id": None if team else self.user_id.data,
                    "team_id": team}
        if kind == "delay":
            return {**base, "minutes": self.amount.data * UNITS[self.unit.data], "unless": self.unless.data}
        return base

    def fill(self, action: dict) -> None:
        """Show a stored action in the form (editing it)."""
        for name in ("kind", "channel_id", "template", "subject", "to", "user_id", "team_id", "address",
                     "url", "tag", "target", "unless"):
            if action.get(name) is not None:
                getattr(self, name).data = action[name]
        if action.get("kind") == "delay":
            minutes = int(action.get("minutes") or 0)
            unit = next(u for u in ("days", "hours", "minutes") if minutes % UNITS[u] == 0)
            self.amount.data, self.unit.data = minutes // UNITS[unit], unit
