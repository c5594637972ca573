"""Automation conditions are plain functions of the payload: a table per field and operator."""

from datetime import datetime

import pytest

from app.automations.conditions import check_value, evaluate, facts
from tests.calls_support import ANSWERS

DATA = {
    "call": {"id": "c1", "status": "ended", "mediaType": "audio", "siteId": "s1",
             "acceptedAt": "2024-01-02T10:00:00.000Z", "endedAt": "2024-01-02T10:02:05.000Z"},
    "contact": {"name": "Vera Visitor", "email": "vera@example.org", "phone": None,
                "location": {"country": "France", "countryCode": "FR"}},
    "qualificationAnswers": ANSWERS,
    "attributes": {"plan": "Enterprise", "seats": 40},
}
KNOWN = facts(DATA, site_id="9b0c0000-0000-0000-0000-000000000001", local_time=datetime(2024, 1, 2, 9, 30))


def cond(field, op, value="", key=""):
    return {"field": field, "key": key, "op": op, "value": value}


@pytest.mark.parametrize("condition, expected", [
    (cond("site", "is", "9b0c0000-0000-0000-0000-000000000001"), True),
    (cond("site", "is", "9b0c0000-0000-0000-0000-000000000002"), False),
    (cond("country", "is", "fr"), True),
    (cond("country", "is", "DE, France"), True),
    (cond("country", "is_not", "DE"), True),
    (cond("media_type", "is", "video"), False),
    (cond("media_type", "is", "audio"), True),
    (cond("status", "is", "ended"), True),
    (cond("duration", "gt", "120"), True),
    (cond("duration", "lt", "60"), False),
    (cond("answer", "is", "11-50", key="company size"), True),
    (cond("answer", "is", "1-10", key="Company size"), False),
    (cond("answer", "is_set", key="Budget"), False),
    (cond("contact", "contains", "@example.org", key="email"), True),
    (cond("contact", "is_empty", key="phone"), True),
    (cond("contact", "is_set", key="name"), True),
    (cond("attribute", "is", "enterprise", key="plan"), True),
    (cond("attribute", "gt", "50", key="seats"), False),
    (cond("attribute", "not_contains", "free", key="plan"), True),
    (cond("time", "between", "09:00-17:00"), True),
    (cond("time", "between", "10:00-17:00"), False),
    (cond("time", "between", "22:00-10:00"), True),  # past midnight
])
def test_each_condition(condition, expected):
    matched, reason = evaluate([condition], "all", KNOWN)
    assert matched is expected
    assert reason.startswith("Matched" if expected else "Not matched")


def test_all_and_any_say_why():
    wrong, right = cond("media_type", "is", "video"), cond("country", "is", "FR")
    assert evaluate([wrong, right], "all", KNOWN) == (False, "Not matched: Media type is video (was “audio”)")
    assert evaluate([wrong, right], "any", KNOWN) == (True, "Matched: Visitor's country is FR")
    matched, reason = evaluate([wrong], "any", KNOWN)
    assert not matched and "Media type is video (was “audio”)" in reason
    assert evaluate([], "all", KNOWN)[0] is True


def test_a_callback_is_read_like_a_contact():
    known = facts({"callback": {"status": "open", "email": "a@b.example", "name": "Al"}, "call": None})
    assert evaluate([cond("status", "is", "open"), cond("contact", "is", "Al", key="name")], "all", known)[0]


@pytest.mark.parametrize("field, op, value, problem", [
    ("time", "between", "9-17", "Write the hours as 09:00-17:30"),
    ("time", "between", "25:00-26:00", "Write the hours as 09:00-17:30"),
    ("duration", "gt", "two minutes", "Enter a number."),
    ("country", "is", " ", "Enter the value to compare with."),
    ("country", "equals", "FR", "Pick how to compare."),
    ("contact", "is_set", "", None),
])
def test_values_are_checked_for_the_form(field, op, value, problem):
    found = check_value(field, op, value)
    assert found is None if problem is None else found.startswith(problem)
