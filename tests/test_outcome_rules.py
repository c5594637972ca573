"""Rules on any answer: number ranges, text contains/equals, select and multi-select, each leading
to an outcome (call, message, calendar, leave details); first match wins; admins manage them on
Widget → Qualifications as a readable list."""

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import OutcomeRule
from app.models.widget import settings_for
from app.routing import outcomes
from tests.calls_support import make_site
from tests.conftest import Auth
from tests.test_widget import add_question

ORIGIN = "https://shop.example.com"


@pytest.fixture
def site(admin):
    site = make_site(admin.organization_id, "shop.example.com")
    settings_for(site).calendar_url = "https://cal.example.com/acme"
    db.session.commit()
    return site


@pytest.fixture
def questions(site):
    return {
        "seats": add_question(site, "Seats", "number", min_value=1, max_value=10000),
        "need": add_question(site, "What do you need?", "text", required=False),
        "size": add_question(site, "Company size",
                             options=[("1-10", False), ("11-50", False), ("51+", False)]),
        "tools": add_question(site, "Tools", "multi_select", required=False,
                              options=[("Slack", False), ("Teams", False), ("Fax", False)]),
    }


def rule(site, question, op, value, outcome, minimum=None, maximum=None):
    condition = outcomes.build_condition(question, op, value, minimum, maximum)
    created = outcomes.add_rule(site, condition, outcome)
    db.session.commit()
    return created


def qualify(client, site, questions, seats=20, need="", size="11-50", tools=()):
    answers = {str(questions["seats"].id): seats, str(questions["need"].id): need,
               str(questions["size"].id): size, str(questions["tools"].id): list(tools)}
    body = {"publicKey": site.public_key, "domain": "shop.example.com", "answers": answers,
            "contact": {"email": "v@example.org"}, "fingerprint": "fp-1"}
    response = client.post("/widget/qualify", data=json.dumps(body), content_type="text/plain",
                           headers={"Origin": ORIGIN})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("key, op, value, low, outcome, answers, action", [
    ("seats", "between", "", "500", "leave_details", {"seats": 800}, "leave_details"),
    ("seats", "between", "", "500", "leave_details", {"seats": 80}, "call"),
    ("seats", "equals", "3", None, "message", {"seats": 3}, "message"),
    ("need", "contains", "job", None, "message", {"need": "A JOB please"}, "message"),
    ("need", "equals", "pricing", None, "calendar", {"need": " Pricing "}, "calendar"),
    ("need", "equals", "pricing", None, "calendar", {"need": "pricing plans"}, "call"),
    ("size", "any_of", "1-10", None, "calendar", {"size": "1-10"}, "calendar"),
    ("size", "any_of", "1-10, 51+", None, "message", {"size": "11-50"}, "call"),
    ("tools", "any_of", "fax", None, "message", {"tools": ["slack", "fax"]}, "message"),
    ("tools", "all_of", "Slack, Teams", None, "leave_details", {"tools": ["slack"]}, "call"),
    ("tools", "all_of", "Slack,Teams", None, "leave_details", {"tools": ["teams", "slack"]}, "leave_details"),
])
def test_each_rule_type_leads_to_its_outcome(client, site, questions, key, op, value, low, outcome, answers,
                                             action):
    rule(site, questions[key], op, value, outcome, low)
    body = qualify(client, site, questions, **answers)
    assert body["action"] == action
    assert body["outcome"] == ("qualified" if action == "call" else "disqualified")


def test_a_rule_can_send_a_disqualified_option_to_the_call(client, site, questions):
    questions["size"].options[0].disqualifies = True  # "1-10" disqualifies on its own…
    rule(site, questions["seats"], "between", "", "call", "100", "")  # …but big teams still call
    db.session.commit()
    assert qualify(client, site, questions, size="1-10", seats=150)["action"] == "call"
    assert qualify(client, site, questions, size="1-10", seats=5)["outcome"] == "disqualified"


def test_the_first_matching_rule_wins(client, site, questions):
    rule(site, questions["size"], "any_of", "51+", "calendar")
    rule(site, questions["seats"], "between", "", "leave_details", "100", "")
    assert qualify(client, site, questions, size="51+", seats=500)["action"] == "calendar"
    assert qualify(client, site, questions, size="11-50", seats=500)["action"] == "leave_details"


def test_a_rule_leading_to_the_calendar_without_a_link_shows_the_message(client, site, questions):
    settings_for(site).calendar_url = None
    rule(site, questions["size"], "any_of", "1-10", "calendar")
    assert qualify(client, site, questions, size="1-10")["action"] == "message"


# ---- the admin's readable list -----------------------------------------------------------------

@pytest.fixture
def admin_auth(client, admin):
    auth = Auth(client)
    auth.login(admin.email)
    return auth


def test_admins_add_rules_and_read_them_in_order(client, admin_auth, site, questions):
    url = f"/widget/qualifications/{site.id}/rules"
    first = admin_auth.post(url, {"question": str(questions["seats"].id), "op": "between", "minimum": "100",
                                  "maximum": "500", "outcome": "call"})
    second = admin_auth.post(url, {"question": str(questions["tools"].id), "op": "all_of",
                                   "value": "Slack, Teams", "outcome": "leave_details"})
    assert first.status_code == second.status_code == 200
    html = client.get(f"/widget/qualifications?site={site.id}").get_data(as_text=True)
    one = "If “Seats” is between 100 and 500 → Call"
    two = "If “Tools” includes all of “Slack”, “Teams” → Ask them to leave details"
    assert one in html and two in html and html.index(one) < html.index(two)

    second_rule = db.session.scalar(sa.select(OutcomeRule).where(OutcomeRule.outcome == "leave_details"))
    admin_auth.post(f"/widget/qualifications/rules/{second_rule.id}/move", {"direction": "up"})
    html = client.get(f"/widget/qualifications?site={site.id}").get_data(as_text=True)
    assert html.index(two) < html.index(one)
    admin_auth.post(f"/widget/qualifications/rules/{second_rule.id}/delete")
    assert two not in client.get(f"/widget/qualifications?site={site.id}").get_data(as_text=True)


@pytest.mark.parametrize("form, message", [
    ({"op": "contains", "value": "x"}, "For this question choose is between or is."),
    ({"op": "between"}, "Enter a minimum, a maximum or both."),
    ({"op": "between", "minimum": "9", "maximum": "1"}, "The minimum is above the maximum."),
    ({"op": "between", "minimum": "lots"}, "Enter a number."),
    ({"op": "equals", "value": ""}, "Enter the value to compare with."),
    ({"question": "nope", "op": "equals", "value": "1"}, "Choose a question."),
    ({"question": "size", "op": "any_of", "value": "huge"}, "Not an option of this question: huge."),
    ({"op": "equals", "value": "3", "outcome": "teleport"}, "Choose an outcome."),
])
def test_a_bad_rule_re_renders_with_the_message(client, admin_auth, site, questions, form, message):
    question = form.pop("question", "seats")
    data = {"question": str(questions[question].id) if question in questions else question,
            "outcome": "call", **form}
    response = admin_auth.post(f"/widget/qualifications/{site.id}/rules", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(OutcomeRule.id))) == 0


def test_another_organizations_rules_are_out_of_reach(client, site, questions, other_admin):
    created = rule(site, questions["seats"], "equals", "3", "message")
    auth = Auth(client)
    auth.login(other_admin.email)
    assert auth.post(f"/widget/qualifications/rules/{created.id}/delete").status_code == 404
    assert auth.post(f"/widget/qualifications/{site.id}/rules", {"question": str(questions["seats"].id),
                     "op": "equals", "value": "1", "outcome": "call"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(OutcomeRule.id))) == 1
