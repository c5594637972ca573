"""Each web process's copy of an organization's routing (rules, teams and their members), so a call
request chooses its team and who in it rings without a query before the ring.

Every commit that changes a team, a routing rule, a membership or a member's name (the order round
robin follows) sets the organization's routing version in Redis to a new token. A call request reads
that version in the MULTI it sends anyway (its lock, who can be rung) and uses its copy only when it
was made under that version: the next call in any process sees a change, with no round trip of its
own. The copies live in the widget's per-process cache (bounded; forgotten whole while its Redis
subscription is down), and a change also tells the other processes to drop theirs.
"""

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError

from app.database import after_commits_changing
from app.extensions import db
from app.models import RoutingRule, Team, User
from app.models.routing import team_member
from app.redis_store import get_redis
from app.routing.rules import first_match


@dataclass(frozen=True)
class TeamFacts:
    """What a call needs of its team before the ring (the Team row comes after it)."""

    id: uuid.UUID
    strategy: str
    overflow_seconds: int | None
    overflow_team_id: uuid.UUID | None
    member_ids: tuple  # in the Teams page's order (round robin follows it)


@dataclass(frozen=True)
class RuleFacts:
    id: uuid.UUID
    conditions: list
    team_id: uuid.UUID


@dataclass(frozen=True)
class Routing:
    rules: tuple
    teams: dict

    def choose_team(self, facts: dict, team_id=None) -> tuple[TeamFacts | None, RuleFacts | None]:
        """teams.choose_team on this copy: a qualification rule's team (`team_id`, one of the
        organization's) first; then the first routing rule that matches; else no team."""
        chosen = self.teams.get(_uuid(team_id))
        if chosen is not None:
            return chosen, None
        found = first_match([{"rule": r, "conditions": r.conditions} for r in self.rules], facts)
        return (self.teams.get(found["rule"].team_id), found["rule"]) if found else (None, None)


def _version_key(organization_id) -> str:
    return f"routing:{organization_id}:version"


def queue_version(pipe, organization_id) -> None:
    """Queue the read of the organization's routing version on a caller's pipeline."""
    pipe.get(_version_key(organization_id))


def routing_for(organization_id, version: bytes | None) -> Routing:
    """The organization's routing as of `version` (read with queue_version): this process's copy,
    else loaded from the database and kept."""
    from app.widget.service import serving_cache

    cache, key, version = serving_cache(), ("routing", str(organization_id)), (version or b"").decode()
    kept = cache.peek(key)
    if kept is not None and kept[0] == version:
        return kept[1]
    drops = cache.version()
    loaded = load(organization_id)
    cache.put(key, (version, loaded), current_app.config["WIDGET_CONFIG_CACHE_SECONDS"], drops)
    return loaded


def load(organization_id) -> Routing:
    """From the database: the rules in order, the teams with their members (two queries)."""
    organization_id = uuid.UUID(str(organization_id))
    teams = db.session.execute(sa.select(Team.id, Team.strategy, Team.overflow_seconds, Team.overflow_team_id)
                               .where(Team.organization_id == organization_id)).all()
    members: dict = {}
    for team_id, user_id in db.session.execute(
            sa.select(team_member.c.team_id, team_member.c.user_id)
            .join(User, User.id == team_member.c.user_id).join(Team, Team.id == team_member.c.team_id)
            .where(Team.organization_id == organization_id).order_by(User.name, User.id)):
        members.setdefault(team_id, []).append(user_id)
    rules = db.session.execute(sa.select(RoutingRule.id, RoutingRule.conditions, RoutingRule.team_id).where(
        RoutingRule.organization_id == organization_id).order_by(RoutingRule.position)).all()
    return Routing(rules=tuple(RuleFacts(*rule) for rule in rules),
                   teams={t.id: TeamFacts(*t, member_ids=tuple(members.get(t.id, ()))) for t in teams})


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


# ---- a commit that changes routing moves the version ------------------------------------------

def _changes_routing(obj, deleted: bool) -> bool:
    if isinstance(obj, Team | RoutingRule):
        return True
    # a member's name orders the team (round robin); a removed member leaves it
    return isinstance(obj, User) and (deleted or sa.inspect(obj).attrs.name.history.has_changes())


def changed(organization_id) -> None:
    """The organization's routing changed (after its commit): a new version, and every process
    drops its copy. Redis unreachable: the web processes' subscriptions are down too, and they
    forget their copies."""
    from app.widget.service import forget

    try:
        get_redis().set(_version_key(organization_id), uuid.uuid4().hex)
    except RedisError:
        current_app.logger.warning("could not move the routing version of %s", organization_id, exc_info=True)
    forget("routing", str(organization_id))


def init_signals() -> None:
    """Once per process: each commit that changes routing moves its version."""
    after_commits_changing("routing_orgs", _changes_routing, changed)
