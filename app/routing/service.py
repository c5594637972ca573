"""What a qualified (or not) visitor may do next, decided on the server: the outcome's action,
the call limits, and the signed token that carries the validated answers and contact."""

import uuid

from app.routing import limits, outcomes, refusals
from app.widget.tokens import sign_qualification

CALL_ACTIONS = ("call", "call_anyway")


def decide(site, flow, settings, copy: dict, result, *, fingerprint: str | None, ip: str | None) -> dict:
    """The /widget/qualify answer: outcome, action (call, message, calendar, leave_details), the
    message the visitor reads, and the token /widget/calls and /widget/callbacks accept."""
    outcome, action, team_id = _outcome(site, flow, result)
    reason = "disqualified" if outcome == "disqualified" else None
    if action == "calendar" and not settings.calendar_url:
        action = "message"  # nothing to book: say so rather than show a dead button
    if outcome == "disqualified":
        refusals.record(site, "disqualified", ip, fingerprint)
    if action in CALL_ACTIONS:
        limited = limits.take(site, ip, fingerprint)
        if limited:
            refusals.record(site, limited, ip, fingerprint)
            action, reason = "leave_details", "rate_limited"
    token = sign_qualification({
        "siteId": str(site.id), "flowId": str(flow.id) if flow.questions else None, "outcome": outcome,
        "action": action, "reason": reason, "answers": result.answers, "contact": result.contact,
        "fingerprint": fingerprint, "nonce": uuid.uuid4().hex, "teamId": team_id})
    return {"outcome": outcome, "action": action, "reason": reason,
            "message": _message(copy, outcome, action, reason),
            "calendarUrl": settings.calendar_url or None, "qualificationToken": token,
            "answers": result.answers, "contact": result.contact}


def _outcome(site, flow, result) -> tuple[str, str, str | None]:
    """(outcome, action, team id): the first rule on the answers that matches decides (a call
    rule may name the team it rings); else the options marked "Disqualifies" and the flow's
    disqualified action."""
    rule = outcomes.matching_outcome(site.id, result.answers)
    if rule is not None:
        team_id = str(rule.team_id) if rule.outcome == "call" and rule.team_id else None
        return ("qualified" if rule.outcome == "call" else "disqualified"), rule.outcome, team_id
    if result.disqualified:
        return "disqualified", flow.disqualified_action, None
    return "qualified", "call", None


def _message(copy: dict, outcome: str, action: str, reason: str | None) -> str:
    if reason == "rate_limited":
        return copy["rateLimited"]
    if action == "leave_details":
        return copy["leaveDetails"]
    return copy["disqualified"] if outcome == "disqualified" else copy["ready"]


def call_refusal(qualification: dict | None, fingerprint: str) -> tuple[int, str, str] | None:
    """Why this token may not request a call: (status, code, message), or None when it may."""
    if qualification is None or "contact" not in qualification:
        return 400, "invalid_qualification", "The qualification expired: answer the questions again."
    if qualification.get("fingerprint") and qualification["fingerprint"] != fingerprint:
        return 400, "invalid_qualification", "This qualification belongs to another visitor."
    if qualification.get("action", "call") not in CALL_ACTIONS:
        return 403, "call_not_allowed", "These answers do not lead to a call."
    return None


def same_contact(sent, validated: dict) -> bool:
    """A contact sent along with the call request must be exactly the one qualify validated
    (or left out): anything else was never checked."""
    if sent is None:
        return True
    if not isinstance(sent, dict):
        return False
    keys = ("name", "email", "phone")
    given = {k: (sent.get(k).strip() if isinstance(sent.get(k), str) else sent.get(k)) or None for k in keys}
    return given == {k: validated.get(k) for k in keys}
