"""Teams and routing: which team a call rings first, who in it rings, and who gets it on overflow.

The decision is the pure first_match of app/routing/rules.py over the visitor's facts; this module
loads the facts and the team, and applies the team's strategy to who is available right now
(the availability rule's answer, so reps on a call or away are never rung).
"""

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Call, RoutingRule, Team
from app.models.routing import team_member
from app.redis_store import get_redis
from app.routing.rules import answer_facts, first_match

ONE_AT_A_TIME = ("round_robin", "longest_idle")


def visitor_facts(site_id, answers: list, country: str | None, page_url: str | None,
                  attributes: dict) -> dict:
    """The facts routing rules look at (app/routing/rules.py's shapes)."""
    return {"answers": answer_facts(answers), "site": str(site_id) if site_id else None,
            "country": (country or "").upper() or None, "pageUrl": page_url,
            "attributes": attributes or {}}


def org_rules(organization_id) -> list[RoutingRule]:
    # with their teams: the rule that matches is the call's team, chosen before the call rings
    return list(db.session.scalars(sa.select(RoutingRule).options(sa.orm.joinedload(RoutingRule.team)).where(
        RoutingRule.organization_id == organization_id).order_by(RoutingRule.position)))


def org_teams(organization_id) -> list[Team]:
    return list(db.session.scalars(sa.select(Team).where(
        Team.organization_id == organization_id).order_by(Team.name)))


def org_team(organization_id, team_id) -> Team | None:
    """The organization's team with this id (None for another organization's or a deleted one)."""
    try:
        team = db.session.get(Team, uuid.UUID(str(team_id))) if team_id else None
    except ValueError:
        return None
    return team if team is not None and team.organization_id == organization_id else None


def choose_team(organization_id, facts: dict, team_id=None) -> tuple[Team | None, RoutingRule | None]:
    """(team, the routing rule that chose it). A qualification rule's team (`team_id`) comes
    first; then the first routing rule that matches; else no team: everyone rings."""
    chosen = org_team(organization_id, team_id)
    if chosen is not None:
        return chosen, None
    rules = org_rules(organization_id)
    found = first_match([{"rule": r, "conditions": r.conditions} for r in rules], facts)
    return (found["rule"].team, found["rule"]) if found else (None, None)


def member_ids(team_id) -> list[uuid.UUID]:
    """The team's members in the order the Teams page lists them (round robin follows it)."""
    from app.models import User

    return list(db.session.scalars(
        sa.select(team_member.c.user_id).join(User, User.id == team_member.c.user_id)
        .where(team_member.c.team_id == team_id).order_by(User.name, User.id)))


def overflow_due(team: Team | None, now: datetime, ring_timeout_seconds: int) -> datetime | None:
    """When a call to this team overflows: None when the team has no overflow, or when it would
    come after the ring timeout (the call rings out first)."""
    if team is None or team.overflow_seconds is None or team.overflow_seconds >= ring_timeout_seconds:
        return None
    return now + timedelta(seconds=team.overflow_seconds)


def first_targets(team: Team, available_ids, skip=frozenset(), dry_run: bool = False, order=None) -> list:
    """Who of the team rings now: every available member (ring all), or the next one in turn
    (round robin), or the one idle longest (longest idle). `skip`: already rung or declined.
    `order`: the team's members as member_ids lists them, when the caller has them (a call
    request, from its process's copy of the routing); else read here."""
    order = member_ids(team.id) if order is None else list(order)
    available = set(available_ids)
    members = [m for m in order if m in available and str(m) not in skip]
    if not members or team.strategy not in ONE_AT_A_TIME:
        return members
    if team.strategy == "longest_idle":
        return [longest_idle(members)]
    return [next_in_turn(team.id, members, dry_run, order)]


def _turn_key(team_id) -> str:
    return f"team:{team_id}:last-rung"


def next_in_turn(team_id, candidates: list, dry_run: bool = False, order=None):
    """Round robin: the first candidate after the one rung last, in the team's order (`order`, else
    read here). The pointer is Redis's (losing it starts the turn again from the top: fair
    enough, never wrong)."""
    order = member_ids(team_id) if order is None else order
    last = get_redis().get(_turn_key(team_id))
    start = next((i + 1 for i, m in enumerate(order) if last and str(m) == last.decode()), 0)
    rotated = order[start:] + order[:start]
    chosen = next(m for m in rotated if m in candidates)
    if not dry_run:
        get_redis().set(_turn_key(team_id), str(chosen), ex=30 * 86400)
    return chosen


def longest_idle(candidates: list):
    """The candidate whose last answered call ended longest ago (never answered one: first)."""
    last_busy = dict(db.session.execute(
        sa.select(Call.accepted_by_id, sa.func.max(sa.func.coalesce(Call.ended_at, Call.accepted_at)))
        .where(Call.accepted_by_id.in_(candidates)).group_by(Call.accepted_by_id)).all())
    order = {m: i for i, m in enumerate(candidates)}
    return min(candidates, key=lambda m: (last_busy.get(m) is not None, last_busy.get(m) or 0, order[m]))


def overflow_targets(call: Call, available_ids, skip=frozenset()) -> list:
    """Who rings once a call overflows: every available member of the fallback team, or everyone."""
    if call.overflow_team_id is None:
        return [r for r in available_ids if str(r) not in skip]
    members = set(member_ids(call.overflow_team_id))
    return [r for r in available_ids if r in members and str(r) not in skip]


def may_ring(call: Call, user_id, rung: set) -> bool:
    """Whether a rep whose socket (re)opens while this call rings should see it: unrouted calls
    ring everyone; a team's call its members (ring all) or only whom it rang (one at a time);
    after overflow, the fallback team's members or everyone too."""
    if call.team_id is None or str(user_id) in rung:
        return True
    if call.overflowed_at is not None:
        return call.overflow_team_id is None or user_id in member_ids(call.overflow_team_id)
    ring_all = call.team is not None and call.team.strategy not in ONE_AT_A_TIME
    return ring_all and user_id in member_ids(call.team_id)


# ---- editing (the Teams page) ------------------------------------------------------------------

class TeamError(ValueError):
    """A team or routing rule the admin must fix: (field, message)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def save_team(organization_id, team: Team | None, *, name: str, strategy: str, overflow_seconds,
              overflow_team_id, member_ids, email_callbacks: bool = True) -> Team:
    """Create (team None) or change a team; the caller commits. TeamError names the bad field."""
    from app.models import User

    name = (name or "").strip()
    if not name or len(name) > 80:
        raise TeamError("name", "Enter a name of at most 80 characters.")
    clash = db.session.scalar(sa.select(Team.id).where(Team.organization_id == organization_id,
                                                       sa.func.lower(Team.name) == name.lower()))
    if clash is not None and (team is None or clash != team.id):
        raise TeamError("name", "Another team already has this name.")
    if strategy not in ("ring_all", *ONE_AT_A_TIME):
        raise TeamError("strategy", "Choose how the team rings.")
    seconds = _seconds(overflow_seconds)
    fallback = None
    if seconds is not None and overflow_team_id not in (None, "", "everyone"):
        fallback = org_team(organization_id, overflow_team_id)
        if fallback is None or (team is not None and fallback.id == team.id):
            raise TeamError("overflow_team", "Choose another team, or everyone.")
    ids = {_uuid(m) for m in member_ids or []} - {None}
    members = list(db.session.scalars(sa.select(User).where(
        User.organization_id == organization_id, User.id.in_(ids)))) if ids else []
    if team is None:
        team = Team(organization_id=organization_id)
        db.session.add(team)
    team.name, team.strategy, team.overflow_seconds = name, strategy, seconds
    team.overflow_team_id = fallback.id if fallback else None
    team.members, team.email_callbacks = members, bool(email_callbacks)
    db.session.flush()  # its id, for the rules and fallbacks that name it
    return team


def _seconds(value) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        seconds = int(str(value).strip())
    except ValueError as e:
        raise TeamError("overflow_seconds", "Enter whole seconds, or leave empty for no overflow.") from e
    if not 5 <= seconds <= 600:
        raise TeamError("overflow_seconds", "Between 5 and 600 seconds.")
    return seconds


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def add_routing_rule(organization_id, conditions: list, team: Team) -> RoutingRule:
    """At the end of the list (the first matching rule wins); the caller commits."""
    last = db.session.scalar(sa.select(sa.func.max(RoutingRule.position)).where(
        RoutingRule.organization_id == organization_id))
    rule = RoutingRule(organization_id=organization_id, position=(last or 0) + 1, conditions=conditions,
                       team_id=team.id, team=team)
    db.session.add(rule)
    return rule


def move_routing_rule(rule: RoutingRule, direction: str) -> None:
    rules = org_rules(rule.organization_id)
    i = rules.index(rule)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(rules):
        rules[i].position, rules[j].position = rules[j].position, rules[i].position


def delete_team(team: Team) -> None:
    """Remove a team with its routing rules; whatever pointed at it (a fallback, a qualification
    rule, calls' history) no longer does. Spelled out: SQLite does not enforce the foreign keys."""
    from app.models import OutcomeRule

    db.session.execute(sa.delete(RoutingRule).where(RoutingRule.team_id == team.id))
    db.session.execute(sa.update(Team).where(Team.overflow_team_id == team.id).values(overflow_team_id=None))
    db.session.execute(sa.update(OutcomeRule).where(OutcomeRule.team_id == team.id).values(team_id=None))
    for column in (Call.team_id, Call.overflow_team_id):
        db.session.execute(sa.update(Call).where(column == team.id).values({column.key: None})
                           .execution_options(synchronize_session=False))
    team.members = []
    db.session.delete(team)


# ---- the routing test ("Who can take a call") ---------------------------------------------------

def explain(site, answers: list, country: str | None, page_url: str | None, attributes: dict) -> dict:
    """What a call from such a visitor would do right now, without doing it: the qualification
    outcome, the team and the rule that picked it, who rings first, and who on overflow."""
    from app.availability import service as availability
    from app.models import User
    from app.routing import outcomes

    outcome = outcomes.matching_outcome(site.id, answers)
    if outcome is not None and outcome.outcome != "call":
        return {"outcome": outcomes.OUTCOME_LABELS[outcome.outcome]}
    facts = visitor_facts(site.id, answers, country, page_url, attributes)
    team, rule = choose_team(site.organization_id, facts, outcome.team_id if outcome else None)
    available = availability.available_rep_ids(site.organization_id)
    names = dict(db.session.execute(sa.select(User.id, User.name).where(
        User.organization_id == site.organization_id)).all())
    first = available if team is None else first_targets(team, available, dry_run=True)
    result = {"outcome": None, "team": team, "rule": rule, "by_qualification": outcome is not None and team
              is not None and rule is None, "first": sorted(names[i] for i in first)}
    if team is not None:
        result["not_ringing"] = sorted(names[m] for m in member_ids(team.id) if m not in set(available))
        due = overflow_due(team, datetime.now().astimezone(), _ring_timeout(site))
        if due is not None:
            probe = Call(overflow_team_id=team.overflow_team_id)
            result["overflow_seconds"] = team.overflow_seconds
            result["overflow_team"] = team.overflow_team
            result["overflow"] = sorted(names[i] for i in overflow_targets(probe, available, skip={
                str(i) for i in first}))
    return result


def _ring_timeout(site) -> int:
    from app.models.widget import settings_for

    return settings_for(site).ring_timeout_seconds
