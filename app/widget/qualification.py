"""The visitor's answers, checked again on the server: errors per field, or the outcome.

The answers come back in exactly the seed's `qualificationAnswers` shape, which the signed
qualification token carries to the call request.
"""

import math
import re
import uuid
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from app.events import iso
from app.models.base import utcnow

MAX_TEXT = 1000
_PHONE = re.compile(r"^\+?[0-9 ().\-]{6,25}$")


@dataclass
class Result:
    errors: dict = field(default_factory=dict)  # questionId or "contact.email" -> message
    answers: list = field(default_factory=list)
    disqualified: bool = False
    contact: dict = field(default_factory=dict)


def _text(question, value):
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        return None, "Type your answer as text."
    value = value.strip()
    if len(value) > MAX_TEXT:
        return None, f"Keep it under {MAX_TEXT} characters."
    return value or None, None


def _number(question, value):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        return None, "Enter a number."
    if question.min_value is not None and number < question.min_value:
        return None, f"Enter a number of at least {question.min_value:g}."
    if question.max_value is not None and number > question.max_value:
        return None, f"Enter a number no greater than {question.max_value:g}."
    return (int(number) if number.is_integer() else number), None


def _single(question, value):
    if value is None or value == "":
        return None, None
    if not isinstance(value, str) or value not in {o.value for o in question.options}:
        return None, "Choose one of the options."
    return value, None


def _multi(question, value):
    if value is None or value == []:
        return None, None
    values = {o.value for o in question.options}
    if not isinstance(value, list) or not all(isinstance(v, str) and v in values for v in value):
        return None, "Choose from the options."
    # keep the order the options have on screen, without duplicates
    return [o.value for o in question.options if o.value in value], None


CHECKS = {"text": _text, "number": _number, "single_select": _single, "multi_select": _multi}


def _disqualifies(question, value) -> bool:
    chosen = value if isinstance(value, list) else [value]
    return any(o.disqualifies and o.value in chosen for o in question.options)


def answer_json(question, value, created_at) -> dict:
    """One entry of `qualificationAnswers`, exactly as the seed documents it."""
    return {
        "id": str(uuid.uuid4()), "questionId": str(question.id), "position": question.position,
        "question": {
            "id": str(question.id), "label": question.label, "type": question.type,
            "required": question.required, "position": question.position,
            "options": [{"label": o.label, "value": o.value} for o in question.options],
        },
        "answer": {"value": value}, "createdAt": created_at,
    }


def check_answers(questions, answers: dict, result: Result) -> None:
    created_at = iso(utcnow())
    for question in questions:
        value, error = CHECKS[question.type](question, answers.get(str(question.id)))
        if error is None and value is None and question.required:
            error = "This question needs an answer."
        if error:
            result.errors[str(question.id)] = error
        elif value is not None:
            result.answers.append(answer_json(question, value, created_at))
            result.disqualified = result.disqualified or _disqualifies(question, value)


def _email(value: str, mode: str):
    if not value:
        return None, ("Enter your email." if mode == "required" else None)
    try:
        return validate_email(value, check_deliverability=False).normalized, None
    except EmailNotValidError:
        return None, "Enter a valid email, like name@example.com."


def _phone(value: str, mode: str):
    if not value:
        return None, ("Enter your phone number." if mode == "required" else None)
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or not 6 <= digits <= 15:
        return None, "Enter a valid phone number, like +1 512 555 0100."
    return value, None


def check_contact(settings, contact: dict, result: Result) -> None:
    name = str(contact.get("name") or "").strip()[:120] or None
    email, email_error = (None, None)
    phone, phone_error = (None, None)
    if settings.collect_email != "off":
        email, email_error = _email(str(contact.get("email") or "").strip(), settings.collect_email)
    if settings.collect_phone != "off":
        phone, phone_error = _phone(str(contact.get("phone") or "").strip(), settings.collect_phone)
    for key, error in (("contact.email", email_error), ("contact.phone", phone_error)):
        if error:
            result.errors[key] = error
    result.contact = {"name": name, "email": email, "phone": phone}


def evaluate(flow, settings, answers, contact) -> Result:
    """Check every answer and the contact details; disqualified when a chosen option says so."""
    result = Result()
    if not isinstance(answers, dict):
        answers = {}
    check_answers(flow.questions, answers, result)
    check_contact(settings, contact if isinstance(contact, dict) else {}, result)
    return result
