"""Message templates: Jinja's SandboxedEnvironment over the event's payload, never our objects.

What a template sees: `event` (the envelope), `data`, `call`, `contact`, `callback`,
`answers` (question → answer), `attributes`, `rule` (its name). Output is plain text: Slack,
Discord, email and webhooks escape or quote it themselves.
"""

from jinja2 import TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from app.automations.conditions import answer_pairs

MAX_OUTPUT = 10_000
_env = SandboxedEnvironment(autoescape=False, undefined=Undefined, trim_blocks=True, lstrip_blocks=True)


class TemplateProblem(ValueError):
    """The template cannot be rendered; the message is for the admin."""


def check(source: str) -> str | None:
    """Why the template cannot work (a syntax error with its line), or None."""
    try:
        _env.parse(source or "")
    except TemplateError as e:
        line = getattr(e, "lineno", None)
        return f"The template has an error{f' on line {line}' if line else ''}: {e.message or e}"
    return None


def context(envelope: dict, rule_name: str = "") -> dict:
    data = envelope.get("data") or {}
    return {
        "event": envelope, "data": data, "call": data.get("call") or {},
        "contact": data.get("contact") or data.get("callback") or {}, "callback": data.get("callback") or {},
        "answers": dict(answer_pairs(data)),
        "attributes": data.get("attributes") or {}, "rule": {"name": rule_name},
    }


def render(source: str, envelope: dict, rule_name: str = "") -> str:
    """The template's text for this event, or TemplateProblem saying what went wrong."""
    try:
        text = _env.from_string(source or "").render(context(envelope, rule_name))
    except TemplateError as e:  # SecurityError is one: the sandbox refused an attribute
        raise TemplateProblem(f"The template could not be rendered: {e}") from e
    except (TypeError, ValueError, ArithmeticError) as e:
        raise TemplateProblem(f"The template could not be rendered: {e}") from e
    return text.strip()[:MAX_OUTPUT]
