"""The rule evaluation, as a table: every op on every kind of answer and visitor fact."""

import pytest

from app.routing.rules import answer_facts, first_match, holds

FACTS = {
    "answers": {"seats": 120, "size": "11-50", "tools": ["slack", "teams"], "note": "Need SSO for DACH",
                "budget": "12.5"},
    "site": "site-1", "country": "DE", "pageUrl": "https://shop.example.com/pricing?x=1",
    "attributes": {"plan": "Enterprise", "mrr": 900},
}


def answer(key, op, value):
    return {"source": "answer", "key": key, "op": op, "value": value}


@pytest.mark.parametrize("condition, expected", [
    (answer("seats", "between", {"min": 100, "max": 500}), True),
    (answer("seats", "between", {"min": 100, "max": None}), True),
    (answer("seats", "between", {"min": None, "max": 99}), False),
    (answer("seats", "between", {"min": 120, "max": 120}), True),  # bounds are inclusive
    (answer("budget", "between", {"min": 10, "max": 20}), True),  # a number typed as text
    (answer("note", "between", {"min": 0, "max": 10}), False),  # not a number
    (answer("missing", "between", {"min": 0, "max": 10}), False),
    (answer("note", "contains", "sso"), True),
    (answer("note", "contains", "saml"), False),
    (answer("note", "contains", ""), False),
    (answer("note", "equals", "need sso for dach "), True),
    (answer("note", "equals", "Need SSO"), False),
    (answer("size", "equals", "11-50"), True),
    (answer("seats", "equals", 120.0), True),  # numbers by value
    (answer("seats", "equals", "120"), True),
    (answer("size", "any_of", ["1-10", "11-50"]), True),
    (answer("size", "any_of", ["51+"]), False),
    (answer("tools", "any_of", ["teams", "fax"]), True),
    (answer("tools", "any_of", ["fax"]), False),
    (answer("tools", "all_of", ["teams", "slack"]), True),
    (answer("tools", "all_of", ["teams", "fax"]), False),
    (answer("tools", "all_of", []), False),
    (answer("tools", "equals", "slack"), True),
    (answer("tools", "contains", "tea"), True),
    ({"source": "country", "op": "any_of", "value": ["DE", "AT", "CH"]}, True),
    ({"source": "country", "op": "equals", "value": "de"}, True),
    ({"source": "country", "op": "any_of", "value": ["US"]}, False),
    ({"source": "site", "op": "any_of", "value": ["site-1"]}, True),
    ({"source": "pageUrl", "op": "contains", "value": "/pricing"}, True),
    ({"source": "pageUrl", "op": "contains", "value": "/careers"}, False),
    ({"source": "attribute", "key": "plan", "op": "equals", "value": "enterprise"}, True),
    ({"source": "attribute", "key": "mrr", "op": "between", "value": {"min": 500}}, True),
    ({"source": "attribute", "key": "nope", "op": "equals", "value": "x"}, False),
    ({"source": "country", "op": "unknown-op", "value": "DE"}, False),
])
def test_each_condition(condition, expected):
    assert holds(condition, FACTS) is expected


def test_the_first_matching_rule_wins_and_every_condition_must_hold():
    rules = [
        {"id": "dach-enterprise", "conditions": [
            {"source": "country", "op": "any_of", "value": ["DE", "AT", "CH"]},
            answer("seats", "between", {"min": 500})]},
        {"id": "dach", "conditions": [{"source": "country", "op": "any_of", "value": ["DE", "AT", "CH"]}]},
        {"id": "everyone", "conditions": []},
    ]
    assert first_match(rules, FACTS)["id"] == "dach"
    assert first_match(rules, {**FACTS, "country": "US"})["id"] == "everyone"
    assert first_match(rules[:2], {**FACTS, "country": None}) is None


def test_answer_facts_from_the_seed_shape():
    answers = [{"questionId": "q1", "answer": {"value": ["a", "b"]}},
               {"questionId": "q2", "answer": {"value": 3}}]
    assert answer_facts(answers) == {"q1": ["a", "b"], "q2": 3}
