"""Automation conditions: plain functions of the event's payload, tested by tables.

A condition is {"field", "key", "op", "value"}; `facts()` reads the values a condition can ask about
from the envelope's `data` (and what the service adds: the local time, the stored attributes).
`evaluate()` answers (matched, why) so the run log can say why a rule did not run.
"""

from datetime import datetime

# field -> (label, needs a key, the key's label)
FIELDS = {
    "site": ("Site", False, None),
    "country": ("Visitor's country", False, None),
    "media_type": ("Media type", False, None),
    "status": ("Status (call or callback)", False, None),
    "duration": ("Call duration (seconds)", False, None),
    "answer": ("Answer to a question", True, "Question"),
    "contact": ("Contact field", True, "Field (name, email or phone)"),
    "attribute": ("Attribute (setAttributes)", True, "Attribute name"),
    "time": ("Time of day (organization's timezone)", False, None),
}
OPS = {
    "is": "is", "is_not": "is not", "contains": "contains", "not_contains": "does not contain",
    "is_set": "is set", "is_empty": "is empty", "gt": "is more than", "lt": "is less than",
    "between": "is between",
}
NO_VALUE = ("is_set", "is_empty")
CONTACT_FIELDS = ("name", "email", "phone")


def _contact(data: dict) -> dict:
    return data.get("contact") or data.get("callback") or {}


def answer_pairs(data: dict) -> list[tuple[str, str]]:
    """(question label, answer as text) of each qualification answer."""
    pairs = []
    for item in data.get("qualificationAnswers") or []:
        value = (item.get("answer") or {}).get("value")
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        label = ((item.get("question") or {}).get("label") or "").strip()
        pairs.append((label, "" if value is None else str(value)))
    return pairs


def _answers(data: dict) -> dict:
    """Question label (lower case) -> the answer as text."""
    return {label.lower(): value for label, value in answer_pairs(data)}


def _seconds_between(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    parse = lambda v: datetime.fromisoformat(v.replace("Z", "+00:00"))  # noqa: E731
    return int((parse(end) - parse(start)).total_seconds())


def facts(data: dict, *, site_id=None, site_domain: str | None = None, local_time: datetime | None = None,
          attributes: dict | None = None) -> dict:
    """Every value a condition may ask about, from one event's data."""
    call = data.get("call") or {}
    location = _contact(data).get("location") or {}
    return {
        "site": [v for v in (str(site_id) if site_id else None, site_domain) if v],  # its id or domain
        "country": [v for v in (location.get("countryCode"), location.get("country")) if v],
        "media_type": call.get("mediaType"),
        "status": (data.get("callback") or {}).get("status") or call.get("status"),
        "duration": _seconds_between(call.get("acceptedAt"), call.get("endedAt")),
        "answer": _answers(data),
        "contact": {f: _contact(data).get(f) for f in CONTACT_FIELDS},
        "attribute": {str(k).lower(): v
                      for k, v in {**(attributes or {}), **(data.get("attributes") or {})}.items()},
        "time": local_time.hour * 60 + local_time.minute if local_time else None,
    }


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value < 24 * 60 or not 0 <= int(minutes) < 60:
        raise ValueError(text)
    return value


def check_value(field: str, op: str, value: str) -> str | None:
    """Why this condition cannot work, for the form; None when it can."""
    if op not in OPS:
        return "Pick how to compare."
    if op in NO_VALUE:
        return None
    if not (value or "").strip():
        return "Enter the value to compare with."
    if field == "time" or op == "between":
        try:
            start, end = value.split("-")
            _minutes(start), _minutes(end)
        except ValueError:
            return "Write the hours as 09:00-17:30 (24-hour clock, start-end)."
    if field == "duration" or op in ("gt", "lt"):
        try:
            float(value)
        except ValueError:
            return "Enter a number."
    return None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _compare(actual, op: str, wanted: str) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    wanted_l = (wanted or "").strip().lower()
    texts = [_text(v).strip().lower() for v in values if v is not None and _text(v) != ""]
    if op == "is_set":
        return bool(texts)
    if op == "is_empty":
        return not texts
    if op in ("is", "is_not"):
        options = [w.strip() for w in wanted_l.split(",")]  # "FR, DE": any of them
        hit = any(t in options for t in texts)
        return hit if op == "is" else not hit
    if op in ("contains", "not_contains"):
        hit = any(wanted_l in t for t in texts)
        return hit if op == "contains" else not hit
    if op in ("gt", "lt"):
        try:
            numbers = [float(t) for t in texts]
        except ValueError:
            return False
        return any(n > float(wanted) if op == "gt" else n < float(wanted) for n in numbers)
    if op == "between":
        start, end = (_minutes(p) for p in wanted.split("-"))
        minute = values[0]
        if minute is None:
            return False
        # 22:00-06:00 runs past midnight
        return start <= minute < end if start <= end else minute >= start or minute < end
    raise ValueError(f"unknown operator {op}")


def _actual(condition: dict, known: dict):
    value = known.get(condition["field"])
    if FIELDS[condition["field"]][1]:
        value = (value or {}).get((condition.get("key") or "").strip().lower())
    return value


def describe(condition: dict) -> str:
    """The condition in words: "Answer to a question “Budget” is more than 1000"."""
    label, keyed, _ = FIELDS.get(condition["field"], (condition["field"], False, None))
    key = f" “{condition.get('key')}”" if keyed else ""
    value = "" if condition["op"] in NO_VALUE else f" {condition.get('value')}"
    return f"{label}{key} {OPS.get(condition['op'], condition['op'])}{value}"


def _shown(actual) -> str:
    if isinstance(actual, int) and not isinstance(actual, bool):
        return str(actual)
    return f"“{_text(actual)}”" if _text(actual) else "empty"


def evaluate(conditions: list[dict], match: str, known: dict) -> tuple[bool, str]:
    """(matched, why) for all/any of the conditions; no condition at all always matches."""
    if not conditions:
        return True, "Matched (no conditions)"
    results = []
    for condition in conditions:
        actual = _actual(condition, known)
        if condition["field"] == "time" and actual is not None:
            shown = f"{actual // 60:02d}:{actual % 60:02d}"
        else:
            shown = _shown(actual)
        results.append((_compare(actual, condition["op"], condition.get("value") or ""), condition, shown))
    if match == "any":
        hit = next((r for r in results if r[0]), None)
        if hit:
            return True, f"Matched: {describe(hit[1])}"
        return False, "No condition held: " + "; ".join(f"{describe(c)} (was {s})" for _, c, s in results)
    missed = next((r for r in results if not r[0]), None)
    if missed:
        return False, f"Not matched: {describe(missed[1])} (was {missed[2]})"
    return True, "Matched all conditions"
