"""Rules as pure functions of plain data, tested by tables (like app/availability/rules.py).

A condition looks at one fact of the visitor and compares it:
  {"source": "answer", "key": <question id>, "op": ..., "value": ...}
  {"source": "site" | "country" | "pageUrl", "op": ..., "value": ...}
  {"source": "attribute", "key": <setAttributes name>, "op": ..., "value": ...}
ops: "between" ({"min", "max"}, either may be None), "equals", "contains" (text, case-insensitive),
"any_of" (a list: the answer, or one of a multi-select's answers, is in it), "all_of" (a
multi-select holds every one of the list).

A rule is {"conditions": [...], ...}: it matches when every condition holds (no condition: always).
The first matching rule wins.
"""

import math

OPS = ("between", "equals", "contains", "any_of", "all_of")
SOURCES = ("answer", "site", "country", "pageUrl", "attribute")


def fact(condition: dict, facts: dict):
    """The visitor's value the condition looks at (None when unknown)."""
    source = condition.get("source")
    if source == "answer":
        return (facts.get("answers") or {}).get(str(condition.get("key")))
    if source == "attribute":
        return (facts.get("attributes") or {}).get(str(condition.get("key")))
    return facts.get(source)


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _between(value, bounds) -> bool:
    number = _number(value)
    if number is None or not isinstance(bounds, dict):
        return False
    low, high = _number(bounds.get("min")), _number(bounds.get("max"))
    return (low is None or number >= low) and (high is None or number <= high)


def _text(value) -> str:
    return str(value).strip().casefold()


def _equal(value, expected) -> bool:
    """Numbers by value (3 equals 3.0), anything else as text, ignoring case and outer spaces."""
    if _number(value) is not None and _number(expected) is not None:
        return _number(value) == _number(expected)
    return _text(value) == _text(expected)


def _values(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def holds(condition: dict, facts: dict) -> bool:
    value, expected, op = fact(condition, facts), condition.get("value"), condition.get("op")
    if value is None or value == "" or value == []:
        return False
    if op == "between":
        return _between(value, expected)
    if op == "equals":
        return any(_equal(v, expected) for v in _values(value))
    if op == "contains":
        return any(_text(expected) in _text(v) for v in _values(value)) if expected else False
    wanted = {_text(v) for v in _values(expected)}
    given = {_text(v) for v in _values(value)}
    if op == "any_of":
        return bool(given & wanted)
    if op == "all_of":
        return bool(wanted) and wanted <= given
    return False


def matches(rule: dict, facts: dict) -> bool:
    return all(holds(c, facts) for c in rule.get("conditions") or [])


def first_match(rules: list[dict], facts: dict) -> dict | None:
    """The first rule (in the admin's order) whose every condition holds."""
    return next((rule for rule in rules if matches(rule, facts)), None)


def answer_facts(answers: list) -> dict:
    """questionId -> value, from the seed-shaped qualificationAnswers."""
    return {str(a.get("questionId")): (a.get("answer") or {}).get("value") for a in answers or []}
