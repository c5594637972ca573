"""Who can take a call now: loading the rule's facts, the cached answer for the widget, and changes.

The rule itself is pure (rules.py). Here: the facts come from the database in a few queries per
organization; `widget_availability` answers from Redis, invalidated on every change and never
kept past the moment the answer could change by itself (an interval ending, a busy block
starting).
"""

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError

from app.availability.rules import (
    HORIZON,
    OrgAvailability,
    RepFacts,
    RepStatus,
    can_take_call_now,
    org_availability,
    rep_status,
)
from app.events import iso
from app.extensions import db
from app.models import BusyBlock, BusySync, Call, DateOverride, DefaultSchedule, RepSchedule, User
from app.models.availability import empty_week
from app.models.widget import settings_for
from app.realtime import presence
from app.redis_store import get_redis

ALL_DAY = [[0, 0]]
TIMEZONES = frozenset(available_timezones())


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- reading ---------------------------------------------------------------------------

def default_schedule(organization_id) -> DefaultSchedule:
    """The org's default hours; an unsaved empty one ("no hours set") until an admin saves it."""
    found = db.session.scalar(
        sa.select(DefaultSchedule).where(DefaultSchedule.organization_id == organization_id)
    )
    return found or DefaultSchedule(organization_id=organization_id, timezone="UTC", weekly=empty_week())


def rep_schedule(user: User) -> RepSchedule | None:
    return db.session.scalar(sa.select(RepSchedule).where(RepSchedule.user_id == user.id))


def has_hours(weekly) -> bool:
    return any(weekly)


def effective_hours(schedule: RepSchedule | None, default: DefaultSchedule) -> tuple[str, list]:
    """(timezone, weekly) the rule applies to a rep. With no hours set anywhere, the whole week
    counts, so the Available toggle alone decides (the seed's "set yourself Available")."""
    timezone = schedule.timezone if schedule else default.timezone
    weekly = default.weekly if schedule is None or schedule.follows_default else schedule.weekly
    if schedule is None or schedule.follows_default:
        weekly = weekly if has_hours(weekly) else [ALL_DAY] * 7
    return timezone, weekly


def _by_user(rows) -> dict:
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(row.user_id, []).append(row)
    return grouped


def load_facts(organization_id, now: datetime, users: list[User] | None = None) -> list[RepFacts]:
    """The rule's facts for every member (or the given ones) in four queries."""
    if users is None:
        users = db.session.scalars(
            sa.select(User).where(User.organization_id == organization_id).order_by(User.name)
        ).all()
    ids = [u.id for u in users]
    default = default_schedule(organization_id)
    schedules = {s.user_id: s for s in db.session.scalars(
        sa.select(RepSchedule).where(RepSchedule.user_id.in_(ids)))}
    # plain rows, not ORM objects: an org's calendars can hold hundreds of busy blocks
    overrides = _by_user(db.session.execute(sa.select(
        DateOverride.user_id, DateOverride.day, DateOverride.intervals).where(
        DateOverride.user_id.in_(ids), DateOverride.day >= (now - timedelta(days=2)).date(),
        DateOverride.day <= (now + HORIZON + timedelta(days=2)).date())))
    busy = _by_user(db.session.execute(sa.select(
        BusyBlock.user_id, BusyBlock.starts_at, BusyBlock.ends_at).where(
        BusyBlock.user_id.in_(ids), BusyBlock.ends_at > now, BusyBlock.starts_at < now + HORIZON)))
    on_call = on_call_ids(organization_id, ids)
    return [_facts(u, schedules.get(u.id), default, overrides.get(u.id, []), busy.get(u.id, []),
                   u.id in on_call) for u in users]


def on_call_ids(organization_id, user_ids=None) -> set:
    """The reps in an accepted call now (one indexed query on the open calls)."""
    query = sa.select(Call.accepted_by_id).where(
        Call.organization_id == organization_id, Call.status == "accepted")
    if user_ids is not None:
        query = query.where(Call.accepted_by_id.in_(user_ids))
    return set(db.session.scalars(query))


def _facts(user, schedule, default, overrides, busy, on_call=False) -> RepFacts:
    timezone, weekly = effective_hours(schedule, default)
    return RepFacts(
        user_id=user.id, name=user.name, timezone=timezone, weekly=weekly,
        overrides={o.day: o.intervals for o in overrides},
        busy=tuple((b.starts_at, b.ends_at) for b in busy),
        toggled=user.available, active=user.is_active_member, on_call=on_call,
    )


def _online_user_ids(user_ids) -> set | None:
    """Presence: the ids of reps with a live dashboard open (app.realtime.presence, in Redis);
    None when Redis cannot say, and the rule goes on without it rather than hide every badge.

    The rep socket calls `invalidate` when a rep comes online or goes offline."""
    try:
        return presence.which_online(user_ids)
    except RedisError:
        current_app.logger.warning("presence unreachable: availability ignores it", exc_info=True)
        return None


def statuses(organization_id, now: datetime | None = None, users=None,
             viewer=None) -> list[tuple[RepFacts, RepStatus]]:
    """Every member's facts and status at `now`. `viewer`: the id of a rep who is loading a
    dashboard page right now, which opens their socket: they count as online already."""
    now = now or utcnow()
    facts = load_facts(uuid.UUID(str(organization_id)), now, users)
    online = _online_user_ids([f.user_id for f in facts])
    if online is not None and viewer is not None:
        online.add(viewer)
    return [(f, rep_status(f, now, None if online is None else f.user_id in online)) for f in facts]


def status_for(user: User, now: datetime | None = None, viewing: bool = False) -> tuple[RepFacts, RepStatus]:
    """One rep's facts and status (the header toggle, the home page); `viewing`: see statuses."""
    return statuses(user.organization_id, now, users=[user], viewer=user.id if viewing else None)[0]


def available_rep_ids(organization_id, now: datetime | None = None) -> list[uuid.UUID]:
    """The reps who can take a call now (the full rule, uncached): whose dashboards should ring."""
    now = now or utcnow()
    facts = load_facts(uuid.UUID(str(organization_id)), now)
    online = _online_user_ids([f.user_id for f in facts])
    return [f.user_id for f in facts
            if can_take_call_now(f, now, None if online is None else f.user_id in online)]


def ringable_rep_ids(organization_id) -> list[uuid.UUID]:
    """Who a call rings now, in one Redis read: available_rep_ids kept as a Redis set beside the
    widget's cached answer, under the same generation (every change that matters bumps it: a
    toggle, a dashboard opening or closing, hours, calendars) and never past the moment the first
    rep's status changes by itself. A call accepted or ended updates the set in place (rep_on_call,
    rep_off_call): on a busy floor those come every few seconds, and rebuilding the set costs a
    query per rep's facts. Without Redis: the full rule."""
    try:
        pipe = get_redis().pipeline()
        read_ringable(pipe, organization_id)
        stored = pipe.execute()
    except RedisError:
        current_app.logger.warning("availability cache unreachable: ringing from the database", exc_info=True)
        return available_rep_ids(organization_id)
    return ringable_from(organization_id, stored)


def read_ringable(pipe, organization_id) -> None:
    """Queue the read of the set's generation and stamp on a caller's pipeline (a MULTI), so that a
    caller with its own commands to send (a call request's lock) makes one round trip. Not the
    members: ringable_from takes them from this process's copy made under the same stamp, and reads
    them only once after each change (a thousand ids to send, parse and decode per call would make
    the ring grow with the floor)."""
    organization_id = uuid.UUID(str(organization_id))
    gen_key, _ = _keys(organization_id)
    as_of_key, _ = _ringable_keys(organization_id)
    pipe.get(gen_key).get(as_of_key).get(_token_key(organization_id))


def ringable_from(organization_id, stored: list) -> list[uuid.UUID]:
    """The ids under read_ringable's three results (its last three): this process's copy of the
    set when it was made under that stamp, else the set read from Redis (and kept), else rebuilt
    when the set is stale."""
    organization_id = uuid.UUID(str(organization_id))
    gen, as_of, token = stored[-3:]
    gen_key, _ = _keys(organization_id)
    as_of_key, members_key = _ringable_keys(organization_id)
    now = utcnow()
    if _current(gen, as_of, now):
        copy = _ringable_copy(organization_id, (as_of, token))
        if copy is not None:
            return copy
        # this process has not read the set since its last change: once, with its stamp
        pipe = get_redis().pipeline()
        pipe.get(gen_key).get(as_of_key).get(_token_key(organization_id)).smembers(members_key)
        gen, as_of, token, members = pipe.execute()
        if _current(gen, as_of, now):
            ids = [uuid.UUID(m.decode()) for m in members]
            return _keep_ringable_copy(organization_id, (as_of, token), ids)
    pairs = statuses(organization_id, now)
    ids = [f.user_id for f, s in pairs if s.available]
    cap = now + timedelta(seconds=current_app.config["AVAILABILITY_CACHE_SECONDS"])
    valid_until = min([s.until for _, s in pairs if s.until] + [cap])
    ttl_ms = int((valid_until - now).total_seconds() * 1000)
    if ttl_ms > 0:
        pipe = get_redis().pipeline()  # MULTI: a reader sees the old set or the new one, whole
        pipe.delete(members_key)
        if ids:
            pipe.sadd(members_key, *[str(i) for i in ids]).pexpire(members_key, ttl_ms)
        as_of, token = f"{int(gen or 0)} {int(valid_until.timestamp() * 1000)}", _token()
        pipe.set(as_of_key, as_of, px=ttl_ms).set(_token_key(organization_id), token, px=ttl_ms)
        pipe.execute()
        _keep_ringable_copy(organization_id, (as_of.encode(), token.encode()), ids)
    return ids


def _ringable_keys(organization_id) -> tuple[str, str]:
    """The set's generation and end of validity ("gen ms"), and the set of rep ids."""
    return f"availability:{organization_id}:ringable:as-of", f"availability:{organization_id}:ringable:ids"


def _token_key(organization_id) -> str:
    """A random token written with the set: with "gen ms", the stamp of one content of the set.
    Every write of the set (a rebuild, one rep in or out) writes a new one, so a stamp never names
    two contents, even once a Redis restarted empty counts its generations from 0 again. A key of
    its own, not a third word of as-of: a process of the previous version, during a rolling deploy,
    still reads as-of as two numbers."""
    return f"availability:{organization_id}:ringable:token"


def _token() -> str:
    return uuid.uuid4().hex[:16]


def _current(gen, as_of, now: datetime) -> bool:
    """The set was made under the organization's generation and still holds now."""
    if not as_of:
        return False
    stored_gen, valid_until = as_of.split()
    return int(stored_gen) == int(gen or 0) and int(valid_until) > now.timestamp() * 1000


def _ringable_copy(organization_id, stamp: tuple) -> list[uuid.UUID] | None:
    """This process's copy of the set, if it was made under this stamp (as-of, token). It lives in
    the widget's bounded per-process memory; its stamp, not the drops that memory hears, keeps it
    right."""
    from app.widget.service import local_cache

    kept = local_cache().peek(("ringable", str(organization_id)))
    return list(kept[1]) if kept is not None and kept[0] == stamp and stamp[1] else None


def _keep_ringable_copy(organization_id, stamp: tuple, ids: list) -> list[uuid.UUID]:
    from app.widget.service import local_cache

    cache = local_cache()
    cache.put(("ringable", str(organization_id)), (stamp, tuple(ids)),
              current_app.config["WIDGET_CONFIG_CACHE_SECONDS"], cache.version())
    return ids


# One rep in or out of the ringable set, with the generation moved on, atomically. The set is
# kept only when it was current and, for an add, still is the generation the caller read before
# working out that the rep can take a call (ARGV[4]); otherwise it is dropped and rebuilt.
_RINGABLE_CHANGE = """
local before = redis.call('GET', KEYS[1]) or '0'
local gen = redis.call('INCR', KEYS[1])
redis.call('DEL', KEYS[4])
local as_of = redis.call('GET', KEYS[2])
if not as_of then return 0 end
local stored, valid_until = string.match(as_of, '^(%d+) (%d+)$')
if stored ~= before or (ARGV[4] ~= '' and ARGV[4] ~= before) then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[5])
  return 0
end
if ARGV[2] == 'add' then
  redis.call('SADD', KEYS[3], ARGV[1])
else
  redis.call('SREM', KEYS[3], ARGV[1])
end
-- the set holds until the first rep's status changes by itself: this rep's now counts too
if ARGV[3] ~= '' and tonumber(ARGV[3]) < tonumber(valid_until) then valid_until = ARGV[3] end
local ttl = math.min(redis.call('PTTL', KEYS[2]), tonumber(valid_until) - tonumber(ARGV[5]))
if ttl <= 0 then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[5])
  return 0
end
redis.call('SET', KEYS[2], gen .. ' ' .. valid_until, 'PX', ttl)
redis.call('SET', KEYS[5], ARGV[6], 'PX', ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return 1
"""


def _change_ringable(organization_id, user_id, change: str, until: datetime | None = None,
                     expected_gen: int | None = None) -> None:
    from app.widget.service import forget_availability

    gen_key, answer_key = _keys(organization_id)
    now_ms = int(utcnow().timestamp() * 1000)
    get_redis().eval(_RINGABLE_CHANGE, 5, gen_key, *_ringable_keys(organization_id), answer_key,
                     _token_key(organization_id),
                     str(user_id), change, int(until.timestamp() * 1000) if until else "",
                     "" if expected_gen is None else expected_gen, now_ms, _token())
    forget_availability(organization_id)  # the widget's answer, as invalidate does


def rep_on_call(organization_id, user_id) -> None:
    """The rep accepted a call: out of the ringable set (the widget's answer is recomputed)."""
    _change_ringable(uuid.UUID(str(organization_id)), user_id, "remove")


def rep_off_call(user: User) -> None:
    """The rep's call ended: back in the ringable set if the rule lets them take a call now (their
    own facts only, not everyone's)."""
    _recheck_ringable(user)


def rep_presence_changed(organization_id, user_id, online: bool) -> None:
    """A rep's first dashboard opened (`online`) or their last one closed: in or out of the
    ringable set in place, as a call's accept and end do. Every page a rep opens closes one socket
    and opens another: with a rebuild from every rep's facts for each, the call after any rep's
    page change would pay for the whole floor."""
    if not online:
        _change_ringable(uuid.UUID(str(organization_id)), user_id, "remove")
        return
    user = db.session.get(User, user_id)
    if user is not None:
        _recheck_ringable(user)


def _recheck_ringable(user: User) -> None:
    """In or out of the ringable set by the rep's own facts (read after the generation, so a change
    meanwhile drops the set rather than being overwritten)."""
    organization_id = uuid.UUID(str(user.organization_id))
    gen = int(get_redis().get(_keys(organization_id)[0]) or 0)  # before reading the facts
    _, status = status_for(user)
    _change_ringable(organization_id, user.id, "add" if status.available else "remove",
                     status.until, expected_gen=gen)


def compute(organization_id, now: datetime | None = None) -> OrgAvailability:
    return org_availability([s for _, s in statuses(organization_id, now)])


# --- the cached answer -------------------------------------------------------------------

def _keys(organization_id) -> tuple[str, str]:
    return f"availability:{organization_id}:gen", f"availability:{organization_id}"


def widget_availability(organization_id) -> dict:
    """{"available": bool, "nextAvailableAt": ISO-8601 UTC or None}, for /widget/config."""
    return widget_availability_until(organization_id)[0]


def widget_availability_until(organization_id, cached: tuple | None = None) -> tuple[dict, float]:
    """The cached answer and the Unix time it holds until: a cache in front of this one (the
    widget's per-process memory) must not keep it longer. `cached`: the (generation, stored
    value) pair the caller already read from Redis (the widget's one round trip per request)."""
    organization_id = uuid.UUID(str(organization_id))
    now = utcnow()
    if cached is None:
        try:
            cached = get_redis().mget(*_keys(organization_id))
        except RedisError:
            # without Redis the answer is still right, only slower: never hide the badge for a cache
            current_app.logger.warning("availability cache unreachable", exc_info=True)
            result = compute(organization_id, now)
            return _answer(result), _until(result, now).timestamp()
    held = stored_answer(cached, now)
    if held is not None:
        return held
    try:
        return _compute_and_store(organization_id, now, int(cached[0] or 0))
    except RedisError:
        current_app.logger.warning("availability cache unreachable", exc_info=True)
        result = compute(organization_id, now)
        return _answer(result), _until(result, now).timestamp()


def stored_answer(cached: tuple, now: datetime) -> tuple[dict, float] | None:
    """The answer and its end from what Redis held (generation, stored value); None when there is
    none, or it was computed before a change (another generation), or it has ended."""
    gen, raw = int(cached[0] or 0), cached[1]
    if not raw:
        return None
    stored = json.loads(raw)
    if stored["gen"] != gen or stored["validUntil"] <= now.timestamp() * 1000:
        return None
    return ({"available": stored["available"], "nextAvailableAt": stored["nextAvailableAt"]},
            stored["validUntil"] / 1000)


def stored_answers(organization_ids) -> dict:
    """organization id -> (answer, end) of those whose answer Redis holds, in one round trip."""
    organization_ids, now = list(organization_ids), utcnow()
    pipe = get_redis().pipeline(transaction=False)
    for organization_id in organization_ids:
        pipe.mget(*_keys(organization_id))
    held = zip(organization_ids, (stored_answer(cached, now) for cached in pipe.execute()), strict=True)
    return {org: answer for org, answer in held if answer is not None}


def is_cached(organization_id) -> bool:
    """Whether Redis holds an answer for the organization (the warmer fills those it lacks)."""
    return bool(get_redis().exists(_keys(organization_id)[1]))


def _answer(result: OrgAvailability) -> dict:
    return {"available": result.available, "nextAvailableAt": iso(result.next_at)}


def _until(result: OrgAvailability, now: datetime) -> datetime:
    """When the answer may change by itself (its next boundary), capped by AVAILABILITY_CACHE_SECONDS:
    only a safety net for a change Redis missed while it was unreachable. Every change is an
    invalidation, including a dashboard that faded out with a crashed process (presence's sweep)."""
    cap = now + timedelta(seconds=current_app.config["AVAILABILITY_CACHE_SECONDS"])
    return min(result.valid_until or cap, cap)


def _compute_and_store(organization_id, now: datetime, gen: int) -> tuple[dict, float]:
    result = compute(organization_id, now)
    answer = _answer(result)
    valid_until = _until(result, now)
    ttl_ms = int((valid_until - now).total_seconds() * 1000)
    if ttl_ms > 0:
        value = {**answer, "gen": gen, "validUntil": valid_until.timestamp() * 1000}
        get_redis().set(_keys(organization_id)[1], json.dumps(value), px=ttl_ms)
    return answer, valid_until.timestamp()


def anyone_available(organization_id) -> bool:
    """True when at least one rep of the organization can take a call now (the full rule, cached)."""
    return widget_availability(organization_id)["available"]


def invalidate(organization_id) -> None:
    """Forget the cached answer; a value being computed right now is refused by its generation."""
    from app.widget.service import forget_availability

    gen_key, key = _keys(organization_id)
    pipe = get_redis().pipeline()
    pipe.incr(gen_key)
    pipe.delete(key)
    pipe.execute()
    forget_availability(organization_id)  # this process's memory of it; others' expires in seconds


# --- changes -----------------------------------------------------------------------------

def set_available(user: User, available: bool) -> None:
    """The rep's own toggle. The commit invalidates the cache (see signals.py)."""
    changed = bool(user.available) != available
    user.available = available
    db.session.commit()
    if changed:
        from app.availability.announce import note_change

        note_change(user.id, user.organization_id)


def _own_schedule(user: User) -> RepSchedule:
    schedule = rep_schedule(user)
    if schedule is None:
        default = default_schedule(user.organization_id)
        schedule = RepSchedule(organization_id=user.organization_id, user_id=user.id,
                               timezone=default.timezone, weekly=default.weekly)
        db.session.add(schedule)
    return schedule


def save_schedule(user: User, timezone: str, weekly: list, follows_default: bool) -> RepSchedule:
    """Store a rep's timezone and hours; following the default keeps their own hours for later."""
    schedule = _own_schedule(user)
    schedule.timezone = timezone
    schedule.follows_default = follows_default
    if not follows_default:
        schedule.weekly = weekly
    db.session.commit()
    return schedule


def save_default(organization_id, timezone: str, weekly: list) -> DefaultSchedule:
    default = default_schedule(organization_id)
    default.timezone, default.weekly = timezone, weekly
    db.session.add(default)
    db.session.commit()
    return default


def upcoming_overrides(user: User, today: date) -> list[DateOverride]:
    return db.session.scalars(sa.select(DateOverride).where(
        DateOverride.user_id == user.id, DateOverride.day >= today).order_by(DateOverride.day)).all()


def override_on(user: User, day: date) -> DateOverride | None:
    return db.session.scalar(sa.select(DateOverride).where(
        DateOverride.user_id == user.id, DateOverride.day == day))


def save_override(user: User, day: date, intervals: list) -> DateOverride:
    """Set the hours of one date; [] is a day off. Hours are added to hours already set that day."""
    override = override_on(user, day)
    if override is None:
        override = DateOverride(organization_id=user.organization_id, user_id=user.id, day=day)
        db.session.add(override)
    override.intervals = intervals
    db.session.commit()
    return override


def delete_override(override: DateOverride) -> None:
    db.session.delete(override)
    db.session.commit()


def replace_busy_blocks(user_id, source: str, window_start: datetime, window_end: datetime,
                        blocks, synced_at: datetime | None = None) -> int:
    """Calendar sync: make `blocks` ((start, end) UTC pairs) the rep's busy time from `source`
    within [window_start, window_end), replacing what that source had there. Idempotent.
    Returns the number of blocks stored."""
    user = db.session.get(User, uuid.UUID(str(user_id)))
    if user is None:
        return 0  # the rep was removed since the sync was scheduled
    synced_at = synced_at or utcnow()
    db.session.execute(sa.delete(BusyBlock).where(
        BusyBlock.user_id == user.id, BusyBlock.source == source,
        BusyBlock.starts_at < window_end, BusyBlock.ends_at > window_start))
    kept = [(s, e) for s, e in blocks if s < e and s < window_end and e > window_start]
    db.session.add_all(BusyBlock(organization_id=user.organization_id, user_id=user.id, source=source,
                                 starts_at=s, ends_at=e, synced_at=synced_at) for s, e in kept)
    _record_sync(user, source, window_start, window_end, synced_at)
    db.session.commit()
    invalidate(user.organization_id)  # the bulk delete above is not seen by the commit hook
    return len(kept)


def _record_sync(user: User, source: str, start: datetime, end: datetime, synced_at: datetime) -> None:
    sync = db.session.scalar(sa.select(BusySync).where(
        BusySync.user_id == user.id, BusySync.source == source))
    if sync is None:
        sync = BusySync(organization_id=user.organization_id, user_id=user.id, source=source)
        db.session.add(sync)
    sync.synced_at, sync.window_start, sync.window_end = synced_at, start, end


def last_syncs(user_ids) -> dict:
    """user id -> [BusySync] (the status page shows when each calendar was last read)."""
    return _by_user(db.session.scalars(sa.select(BusySync).where(BusySync.user_id.in_(user_ids))))


def pause_all(sites, paused: bool) -> None:
    """Pause (or resume) incoming calls on every given site of the organization."""
    from app.widget.service import invalidate as forget_config

    for site in sites:
        settings_for(site).paused = paused
    db.session.commit()
    for site in sites:
        forget_config(site)  # `paused` is part of each site's cached config


def valid_timezone(name: str) -> bool:
    return name in TIMEZONES


def local_time(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))

