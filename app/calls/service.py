"""The call lifecycle. Each transition is one UPDATE guarded by the current status, with its
events, in one transaction: two reps accepting at once yield one winner, and a late accept
after a cancel or the ring timeout changes nothing. Realtime notices go out after the commit."""

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for

from app.analytics import counters as analytics_counters
from app.availability import service as availability
from app.calls import jobs
from app.calls.payload import event_data, routed_data
from app.database import commit_keeping_loaded
from app.events import iso, record_event
from app.extensions import db
from app.jobs import queue
from app.models import Call, CallEvent, Contact, Site, User
from app.models.base import utcnow
from app.models.widget import settings_for
from app.realtime import bus, presence
from app.recordings.service import schedule_finish, start_recording
from app.redis_store import get_redis, unless_redis_down
from app.routing import snapshot
from app.routing import teams as routing
from app.widget.service import call_settings

KEY_TTL_SECONDS = 6 * 3600
# how long an answer to a ring waits for its call's row to be committed (it is written after the ring)
RECORD_WAIT_SECONDS = 10


class CallError(Exception):
    """A refused call action, with the JSON error code and HTTP status to answer with (and, over a
    limit, the seconds until it allows one again)."""

    def __init__(self, code: str, message: str, status: int = 409, retry_after: int | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.retry_after = code, message, status, retry_after


OVER_A_LIMIT = {"token_used_up": "This qualification was used for several calls: answer again.",
                "rate_limited": "Too many call requests. Try again later."}


def eligible_reps(organization_id) -> list[User]:
    """Who rings: exactly the reps the availability rule says can take a call now (active,
    Available, a dashboard open, inside their hours, not busy in their calendar)."""
    ids = availability.available_rep_ids(organization_id)
    if not ids:
        return []
    return list(db.session.scalars(sa.select(User).where(
        User.organization_id == organization_id, User.id.in_(ids))))


# ---- requesting a call ---------------------------------------------------------------------

@dataclass(frozen=True)
class CallSite:
    """What a call request needs of its site and the site's settings. The visitor's request reads
    it from the widget's per-process cache (app/widget/service.py: the same entry /widget/config
    serves, dropped in every process by the saves that change it), so no query comes before the ring."""

    id: uuid.UUID
    organization_id: uuid.UUID
    domain: str
    paused: bool
    call_type: str
    ring_timeout_seconds: int
    recording_policy: str | None

    @classmethod
    def of(cls, site: "Site | CallSite") -> "CallSite":
        """From a Site row (its settings are read, or created with their defaults)."""
        if isinstance(site, CallSite):
            return site
        settings = settings_for(site)
        return cls._of(site.id, site.organization_id, settings.paused, call_settings(site, settings))

    @classmethod
    def from_entry(cls, entry: dict) -> "CallSite":
        """From a widget cache entry (app.widget.service.site_entry)."""
        return cls._of(uuid.UUID(entry["siteId"]), uuid.UUID(entry["organizationId"]), entry["paused"],
                       entry["call"])

    @classmethod
    def _of(cls, site_id, organization_id, paused, call: dict) -> "CallSite":
        return cls(site_id, organization_id, call["domain"], bool(paused), call["callType"],
                   call["ringTimeoutSeconds"], call["recordingPolicy"])


def _open_key(site_id, fingerprint: str) -> str:
    return f"calls:open:{site_id}:{fingerprint}"


def _rung_key(call_id) -> str:
    return f"call:{call_id}:rung"


def _declined_key(call_id) -> str:
    return f"call:{call_id}:declined"


def media_type_for(call_type: str, wanted: str | None) -> str:
    """The site decides video or audio; with "choice" the visitor does (video unless audio)."""
    if call_type in ("video", "audio"):
        return call_type
    return "audio" if wanted == "audio" else "video"


def upsert_contact(organization_id, fingerprint: str, details: dict, location: dict | None) -> Contact:
    """The visitor's identity, reused across calls; what they tell us now updates it (contact.* events)."""
    from app.contacts import service as contacts  # contacts' pages import this module

    contact = db.session.scalar(sa.select(Contact).where(
        Contact.organization_id == organization_id, Contact.fingerprint == fingerprint))
    created = contact is None
    if created:
        contact = Contact(organization_id=organization_id, fingerprint=fingerprint)
        db.session.add(contact)
    changes = [f for f in ("name", "email", "phone") if details.get(f) and details[f] != getattr(contact, f)]
    for field in changes:
        setattr(contact, field, details[field])
    if location is not None and location != contact.location:
        contact.location = location
        changes.append("location")
    contact.last_seen_at = utcnow()
    if created:
        contacts.record_created(contact)
    else:
        contacts.record_updated(contact, changes)
    return contact


def request_call(site: "Site | CallSite", *, fingerprint: str, qualification: dict,
                 media_type: str | None = None, contact: dict | None = None, attributes: dict | None = None,
                 page_url: str | None = None, location: dict | None = None, ip: str | None = None,
                 recording_consent: bool = False, limits=None) -> Call:
    """Queue the visitor's call: ring every eligible rep, record call.requested, start the timeout.

    The site's recording policy is stored with the call, and the visitor's consent with it when
    the policy asks for one (a consent given under another policy means nothing). `limits`: the
    request's CallRequestLimits (app/routing/limits.py), counted in the same round trip. `site`: a
    Site row, or the CallSite the visitor's request took from the widget's cache.
    """
    site = CallSite.of(site)
    visit = Visit(fingerprint, qualification, media_type, contact or {}, attributes or {}, page_url, location,
                  ip, recording_consent)
    ringable, routing_version = _lock_and_read(site, fingerprint, limits)
    from app.webhooks import dispatch  # its package imports the API, which imports this module

    session = db.session()
    dispatch.hold(session)  # the events' jobs go out after the ring
    try:
        call, available, targets = _ring_and_record(site, ringable, routing_version, visit)
        _after_ring(call, site.ring_timeout_seconds, available, targets)
    finally:
        dispatch.release(session)
    return call


def _lock_and_read(site: CallSite, fingerprint: str, limits) -> tuple[list, bytes | None]:
    """Everything the ring needs of Redis in one round trip (a MULTI): the request's limits counted,
    one visitor one waiting call (a lock until the ring times out), the routing's version and the
    stamp of who can be rung now (availability.ringable_from resolves it: this process's copy of
    the set made under that stamp). Then the refusals, in the order they
    were once checked one by one: the limits, a paused site, a call already waiting; whatever a
    refused request took is given back."""
    pipe = get_redis().pipeline()
    counted = limits.queue(pipe) if limits is not None else 0
    pipe.set(_open_key(site.id, fingerprint), "1", nx=True, ex=site.ring_timeout_seconds + 120)
    snapshot.queue_version(pipe, site.organization_id)
    availability.read_ringable(pipe, site.organization_id)
    stored = pipe.execute()
    locked, version = stored[counted], stored[counted + 1]
    over = limits.refusal(stored[:counted]) if limits is not None else None
    if over is not None or site.paused:
        _give_back(site, fingerprint, locked, over[2] if over else [])
    if over is not None:
        raise CallError(over[0], OVER_A_LIMIT[over[0]], 429, retry_after=over[1])
    if site.paused:
        raise CallError("calls_paused", "This team is not taking calls right now.", 409)
    if not locked:
        raise CallError("call_in_progress", "You already have a call waiting for an answer.", 409)
    return stored, version


def _give_back(site: CallSite, fingerprint: str, locked: bool, uncount: list[str]) -> None:
    """A refused request's lock, and the counts of limits it did not reach."""
    with unless_redis_down("giving back a refused call request's lock"):
        pipe = get_redis().pipeline(transaction=False)
        if locked:
            pipe.delete(_open_key(site.id, fingerprint))
        for key in uncount:
            pipe.decr(key)
        pipe.execute()


@dataclass(frozen=True)
class Visit:
    """The visitor's side of a call request: who, what they answered and told us, from where."""

    fingerprint: str
    qualification: dict
    media_type: str | None
    contact: dict  # what the qualification checked: name, email, phone (each may be None)
    attributes: dict
    page_url: str | None
    location: dict | None
    ip: str | None
    recording_consent: bool


def _ring_and_record(site: CallSite, ringable, routing_version, visit: Visit) -> tuple[Call, list, list]:
    """Ring, then read and write. The ring needs what the request's one MULTI read (who can be rung,
    the routing's version: this process's copy of the routing while it is current) and what the
    visitor sent, so no query comes before the publish. The visitor's contact row, the call's rows,
    its events' outbox and the commit come after it; a returning visitor's stored details then
    complete the alert (`call-contact`). A write that fails takes the ring back and leaves the
    visitor free to ask again."""
    targets = []
    try:
        with db.session.no_autoflush:  # nothing is written before the ring
            available = availability.ringable_from(site.organization_id, ringable)
            routing_copy = snapshot.routing_for(site.organization_id, routing_version)
            call, team, rule = _prepare_call(site, routing_copy, visit)
            targets = available if team is None else routing.first_targets(team, available,
                                                                           order=team.member_ids)
            told = contact_view(visit.contact.get("name"), visit.contact.get("email"),
                                visit.contact.get("phone"), visit.location)
            if targets:
                _ring_reps(call, targets, site.domain, told)
            call.contact = upsert_contact(site.organization_id, visit.fingerprint, visit.contact,
                                          visit.location)
        _record_requested(call, rule)
    except Exception:
        db.session.rollback()
        with unless_redis_down("taking back a ring whose call was not recorded"):
            get_redis().delete(_open_key(site.id, visit.fingerprint))
            if targets:
                _take_back_ring(call, targets)
        raise
    known = _call_contact_view(call)
    if targets and known != told:
        bus.publish_many([f"user:{rep_id}" for rep_id in targets],
                         {"type": "call-contact", "callId": str(call.id), "contact": known})
    return call, available, targets


def _route(call: Call, routing_copy: snapshot.Routing, team_id, location: dict | None, timeout_seconds: int):
    """Pick the call's team (the qualification rule's, else the first routing rule that matches)
    and when it overflows, from the process's copy of the routing: (the team, the routing rule that
    chose it), either None. The Team row itself loads after the ring, for the events."""
    facts = routing.visitor_facts(call.site_id, call.answers, (location or {}).get("countryCode"),
                                  call.page_url, call.attributes)
    team, rule = routing_copy.choose_team(facts, team_id)
    if team is None:
        return None, None
    call.team_id = team.id
    call.overflow_at = routing.overflow_due(team, call.requested_at, timeout_seconds)
    call.overflow_team_id = team.overflow_team_id if call.overflow_at else None
    return team, rule


def _prepare_call(site: CallSite, routing_copy, visit: Visit) -> tuple[Call, object, object]:
    """The call (its id chosen here: the ring names it before the INSERT) and its team, in the
    session but not written; the team's facts and the routing rule that chose it."""
    now = utcnow()
    qualification = visit.qualification
    call = Call(
        id=uuid.uuid4(), organization_id=site.organization_id, site_id=site.id,
        status="requested", media_type=media_type_for(site.call_type, visit.media_type),
        visitor_fingerprint=visit.fingerprint, visitor_ip=visit.ip,
        qualification_flow_id=qualification.get("flowId"), answers=qualification.get("answers") or [],
        attributes=visit.attributes, page_url=visit.page_url,
        requested_at=now, ring_deadline_at=now + timedelta(seconds=site.ring_timeout_seconds),
        recording_policy=site.recording_policy,
        recording_consent=site.recording_policy == "consent" and bool(visit.recording_consent),
    )
    team, rule = _route(call, routing_copy, qualification.get("teamId"), visit.location,
                        site.ring_timeout_seconds)
    db.session.add(call)
    return call, team, rule


def _record_requested(call: Call, rule) -> None:
    """The call, its contact, call.requested (and call.routed) and their outbox rows, committed;
    nothing loaded is expired by the commit, so what follows needs no query."""
    db.session.flush()
    _record(call, "call.requested")
    if call.team_id is not None:  # call.routed says so, in call.requested's transaction
        _record_routing(call, "call.routed", rule)
    commit_keeping_loaded()


def _take_back_ring(call: Call, rep_ids) -> None:
    """The call rang but could not be recorded: the reps' alerts close (the visitor is told to
    try again), and nobody counts as rung."""
    get_redis().delete(_rung_key(call.id))
    bus.publish_many([f"user:{rep_id}" for rep_id in rep_ids],
                     {"type": "call-update", "callId": str(call.id), "status": "canceled"})


def _after_ring(call: Call, timeout_seconds: int, available: list, targets: list) -> None:
    """What follows the ring: the timeout's and the overflow's jobs; nobody rung: overflow at
    once, or missed."""
    if not targets and call.overflow_at is None:
        miss(call.id, reason="no_one_available")
        return
    # the server, not a browser, decides that nobody answered: these jobs are the prompt path, the
    # call's ring_deadline_at / overflow_at the record (cron's passes catch a job lost with Redis)
    queue().enqueue_in(timedelta(seconds=timeout_seconds), jobs.ring_timeout, str(call.id))
    if not targets:
        overflow(call.id, available=available)
    elif call.overflow_at is not None:
        queue().enqueue_in(call.overflow_at - call.requested_at, jobs.overflow, str(call.id))


def _ring_reps(call: Call, rep_ids, site_domain: str | None = None, contact: dict | None = None) -> None:
    """Alert these reps (all their tabs) and count them among the rung: one round trip. A new
    call's ring passes its site's domain and what the visitor told (its rows are not read yet)."""
    ring = {"type": "ring", "call": ring_view(call, _ring_seconds(call), site_domain, contact)}
    pipe = get_redis().pipeline(transaction=False)
    pipe.sadd(_rung_key(call.id), *[str(rep_id) for rep_id in rep_ids])
    pipe.expire(_rung_key(call.id), KEY_TTL_SECONDS)
    pipe.publish(*bus.envelope([f"user:{rep_id}" for rep_id in rep_ids], ring))
    pipe.execute()
    # after the ring, not before it: two commands per rep would delay the first ring
    with unless_redis_down("counting the rung reps"):
        counts = get_redis().pipeline(transaction=False)
        for rep_id in rep_ids:
            analytics_counters.add(counts, rep_id, "rung")
        counts.execute()


def _ring_seconds(call: Call) -> int:
    return int(((call.ring_deadline_at or call.requested_at) - call.requested_at).total_seconds())


def overflow(call_id, available=None) -> Call | None:
    """Nobody in the team answered in time (or nobody there could): the overflow target rings
    too, the team's rung reps keep ringing. Once per call (a guarded UPDATE); call.overflowed.
    None when it had already overflowed, ended, or never overflows."""
    result = db.session.execute(
        sa.update(Call).where(Call.id == call_id, Call.status == "requested", Call.overflow_at.is_not(None))
        .values(overflow_at=None, overflowed_at=utcnow()).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return None
    call = db.session.get(Call, call_id, populate_existing=True)
    _record_routing(call, "call.overflowed")
    db.session.commit()
    if available is None:
        available = availability.ringable_rep_ids(call.organization_id)
    redis = get_redis()
    passed = {m.decode() for m in redis.smembers(_rung_key(call.id)) | redis.smembers(_declined_key(call.id))}
    targets = routing.overflow_targets(call, available, skip=passed)
    if targets:
        _ring_reps(call, targets)
    elif not _still_ringing(call.id):
        miss(call.id, reason="no_one_available" if not passed else "declined")
    return call


def overdue_overflow_ids(limit: int = 500) -> list:
    """Calls still ringing past their overflow time: owed an overflow."""
    return list(db.session.scalars(sa.select(Call.id).where(
        Call.status == "requested", Call.overflow_at <= utcnow()).order_by(Call.overflow_at).limit(limit)))


def _still_ringing(call_id) -> bool:
    """Someone rung has not declined yet."""
    redis = get_redis()
    return bool(redis.smembers(_rung_key(call_id)) - redis.smembers(_declined_key(call_id)))


def ring_view(call: Call, timeout_seconds: int, site_domain: str | None = None,
              contact: dict | None = None) -> dict:
    """What the incoming-call alert shows: who, where from, their answers, and how to answer."""
    return {
        "id": str(call.id), "mediaType": call.media_type, "requestedAt": iso(call.requested_at),
        "expiresAt": iso(call.requested_at + timedelta(seconds=timeout_seconds)),
        "pageUrl": call.page_url, "siteDomain": site_domain or (call.site.domain if call.site else None),
        "contact": contact or _call_contact_view(call),
        "answers": answer_lines(call.answers),
        "acceptUrl": url_for("calls.accept", call_id=call.id),
        "declineUrl": url_for("calls.decline", call_id=call.id),
    }


def contact_view(name: str | None, email: str | None, phone: str | None, location: dict | None) -> dict:
    """Who is calling, as the alert shows it."""
    return {"name": name, "email": email, "phone": phone, "location": place(location)}


def _call_contact_view(call: Call) -> dict | None:
    contact = call.contact
    return contact_view(contact.name, contact.email, contact.phone, contact.location) if contact else None


def place(location: dict | None) -> str | None:
    """"Austin, TX, United States" from an envelope location."""
    if not location:
        return None
    country = location.get("country") or location.get("countryCode")
    parts = [location.get("city"), location.get("region"), country]
    return ", ".join(p for p in parts if p) or None


def answer_lines(answers: list) -> list[dict]:
    """Each answer as the question's label and the chosen options' labels, for people to read."""
    lines = []
    for answer in answers or []:
        question = answer.get("question") or {}
        value = (answer.get("answer") or {}).get("value")
        labels = {o.get("value"): o.get("label") for o in question.get("options") or []}
        values = value if isinstance(value, list) else [value]
        shown = ", ".join(str(labels.get(v, v)) for v in values if v not in (None, ""))
        lines.append({"question": question.get("label") or "", "answer": shown})
    return lines


# ---- transitions -------------------------------------------------------------------------

def _transition(call_id, from_statuses: tuple, **values) -> Call | None:
    """One guarded UPDATE: the call moves only if it is still in one of `from_statuses`."""
    result = db.session.execute(
        sa.update(Call).where(Call.id == call_id, Call.status.in_(from_statuses))
        .values(**values).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return None
    return db.session.get(Call, call_id, populate_existing=True)


def _record(call: Call, *types: str) -> None:
    for type_ in types:
        event = record_event(call.organization_id, type_, event_data(call))
        db.session.flush()
        db.session.add(CallEvent(call_id=call.id, event_id=event.id))


def _record_routing(call: Call, type_: str, rule=None) -> None:
    event = record_event(call.organization_id, type_, routed_data(call, rule))
    db.session.flush()
    db.session.add(CallEvent(call_id=call.id, event_id=event.id))


def _recorded_status(call_id, user: User) -> str | None:
    """The call's status; None when the rep's organization has no such call. The ring goes out
    before the call's row is written (`_ring_and_record`): a rep who answers at once, or a server
    slow to commit, finds no row yet. While the call counts this rep as rung (a write that failed
    takes that back), their answer waits for the commit."""
    deadline = time.monotonic() + RECORD_WAIT_SECONDS
    pause = 0.01
    while True:
        status = db.session.scalar(sa.select(Call.status).where(
            Call.id == call_id, Call.organization_id == user.organization_id))
        if status is not None or time.monotonic() > deadline:
            return status
        if not get_redis().sismember(_rung_key(call_id), str(user.id)):
            return None
        db.session.rollback()  # the next read sees what was committed meanwhile
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _known_to(call_id, user: User) -> None:
    if _recorded_status(call_id, user) is None:
        raise CallError("not_found", "No such call.", 404)


def current_status(call_id) -> str | None:
    return db.session.scalar(sa.select(Call.status).where(Call.id == call_id))


def accepted_rep_name(call_id) -> str | None:
    return db.session.scalar(sa.select(User.name).join(Call, Call.accepted_by_id == User.id)
                             .where(Call.id == call_id))


def accept(call_id, user: User) -> Call:
    """First accept wins; everyone else's alert says who took it."""
    _known_to(call_id, user)
    call = _transition(call_id, ("requested",), status="accepted", accepted_at=utcnow(),
                       accepted_by_id=user.id)
    if call is None:
        status = current_status(call_id)
        raise CallError(f"call_{status}", _UNAVAILABLE.get(status, "This call is no longer available."), 409)
    _record(call, "call.accepted")
    _start_recording(call, user)
    db.session.commit()
    with unless_redis_down("taking the rep out of the ringable set"):
        availability.rep_on_call(call.organization_id, user.id)
    _release_open_request(call)
    _notify_reps(call, {"type": "call-update", "callId": str(call.id), "status": "accepted",
                        "acceptedById": str(user.id), "acceptedBy": user.name})
    bus.publish(f"call:{call.id}:visitor", {"type": "accepted", "rep": {"name": user.name}})
    return call


def _start_recording(call: Call, user: User) -> None:
    """In the accept's transaction: the call's Recording when its policy and the visitor allow it."""
    visitor = call.contact.name if call.contact and call.contact.name else "Visitor"
    start_recording(call.id, call.organization_id, call.recording_policy, call.recording_consent,
                    visitor_name=visitor, rep_name=user.name)


_UNAVAILABLE = {
    "accepted": "Someone else already took this call.",
    "canceled": "The visitor left before anyone answered.",
    "missed": "This call rang out.",
    "ended": "This call has ended.",
}


def cancel(call_id, reason: str = "canceled") -> Call | None:
    """The visitor left before anyone accepted: call.canceled, then call.ended."""
    return _end_unanswered(call_id, "canceled", reason, "call.canceled")


def miss(call_id, reason: str = "missed") -> Call | None:
    """Nobody accepted before the ring timeout: call.missed, then call.ended."""
    return _end_unanswered(call_id, "missed", reason, "call.missed")


def overdue_ring_ids(limit: int = 500) -> list:
    """Calls still ringing past their ring deadline: owed a call.missed."""
    return list(db.session.scalars(sa.select(Call.id).where(
        Call.status == "requested", Call.ring_deadline_at <= utcnow())
        .order_by(Call.ring_deadline_at).limit(limit)))


def _end_unanswered(call_id, status: str, reason: str, event_type: str) -> Call | None:
    call = _transition(call_id, ("requested",), status=status, ended_at=utcnow(), end_reason=reason)
    if call is None:
        return None
    _record(call, event_type, "call.ended")
    db.session.commit()
    _release_open_request(call)
    _notify_reps(call, {"type": "call-update", "callId": str(call.id), "status": status})
    message = {"type": "ended", "status": status, "reason": reason}
    if status == "missed":
        message["nextAvailableAt"] = next_available_at(call.organization_id)
    bus.publish(f"call:{call.id}:visitor", message)
    return call


def next_available_at(organization_id) -> str | None:
    """When someone is next expected (ISO-8601 UTC), for the visitor's missed screen: null while
    someone is available now (they just did not answer) or when no schedule says."""
    return availability.widget_availability(organization_id)["nextAvailableAt"]


def end(call_id, reason: str) -> Call | None:
    """Either side hung up (or vanished): call.ended. None when it had already ended."""
    call = _transition(call_id, ("accepted",), status="ended", ended_at=utcnow(), end_reason=reason)
    if call is None:
        return None
    _record(call, "call.ended")
    db.session.commit()
    if call.accepted_by is not None:
        with unless_redis_down("putting the rep back in the ringable set"):
            availability.rep_off_call(call.accepted_by)
    message = {"type": "ended", "status": "ended", "reason": reason}
    bus.publish_many([f"call:{call.id}:visitor", f"call:{call.id}:rep"], message)
    # a rep browser that crashed never says "complete": the server assembles what arrived
    with unless_redis_down("scheduling the recording's finish"):
        schedule_finish(call.id, call.organization_id)
    return call


def hang_up(call_id, side: str) -> Call | None:
    """A hang-up from either side: ends an answered call, cancels a waiting one (visitor only)."""
    if side == "visitor" and current_status(call_id) == "requested":
        return cancel(call_id)
    return end(call_id, f"{side}_hung_up")


def decline(call_id, user: User) -> Call | None:
    """This rep passes: their alert stops. When every rung rep declined, the call moves on: the
    next of its team in turn (one at a time), then its overflow, else it is missed."""
    _known_to(call_id, user)
    redis = get_redis()
    redis.sadd(_declined_key(call_id), str(user.id))
    redis.expire(_declined_key(call_id), KEY_TTL_SECONDS)
    bus.publish(f"user:{user.id}", {"type": "call-update", "callId": str(call_id), "status": "declined"})
    if not redis.smembers(_rung_key(call_id)) or _still_ringing(call_id):
        return None
    call = db.session.get(Call, call_id)
    if call is None or call.status != "requested":
        return None
    return _move_on(call)


def _move_on(call: Call) -> Call | None:
    available = availability.ringable_rep_ids(call.organization_id)
    redis = get_redis()
    passed = {m.decode() for m in redis.smembers(_rung_key(call.id)) | redis.smembers(_declined_key(call.id))}
    if call.team is not None and call.overflowed_at is None:
        following = routing.first_targets(call.team, available, skip=passed)
        if following:
            _ring_reps(call, following)
            return None
    if call.overflow_at is not None:
        return overflow(call.id, available=available)
    return miss(call.id, reason="declined")


def _release_open_request(call: Call) -> None:
    # after the commit: without Redis the lock simply expires (ring timeout + 2 min)
    with unless_redis_down("releasing the visitor's open request"):
        get_redis().delete(_open_key(call.site_id, call.visitor_fingerprint))


def _notify_reps(call: Call, message: dict) -> None:
    """Tell every rep who was rung (all their tabs) what became of the call."""
    with unless_redis_down("telling the rung reps"):
        rung = get_redis().smembers(_rung_key(call.id))
        if rung:
            bus.publish_many([f"user:{user_id.decode()}" for user_id in rung], message)


# ---- sockets: rings still pending, which side is connected ---------------------------------

def pending_rings(user_id) -> list[dict]:
    """Calls still ringing that this rep has not declined: shown again when their socket (re)opens."""
    user = db.session.get(User, user_id)
    # their socket is open (presence was just touched): the rest of the rule decides
    if user is None or not availability.status_for(user)[1].available:
        return []
    redis = get_redis()
    rings = []
    calls = db.session.scalars(sa.select(Call).where(
        Call.organization_id == user.organization_id, Call.status == "requested",
        Call.requested_at > utcnow() - timedelta(hours=1)).order_by(Call.requested_at))
    for call in calls:
        timeout = settings_for(call.site).ring_timeout_seconds if call.site else 45
        if call.requested_at + timedelta(seconds=timeout) <= utcnow():
            continue
        if redis.sismember(_declined_key(call.id), str(user.id)):
            continue
        if not routing.may_ring(call, user.id, {m.decode() for m in redis.smembers(_rung_key(call.id))}):
            continue  # routed to a team they are not in, or to someone else in turn
        # a rep who came online while it rings gets it too, and counts for "everyone declined"
        redis.sadd(_rung_key(call.id), str(user.id))
        rings.append({"type": "ring", "call": ring_view(call, timeout)})
    return rings


def _here_key(call_id, side: str) -> str:
    return f"call:{call_id}:here:{side}"


def side_joined(call_id, side: str, socket_id: str) -> None:
    get_redis().set(_here_key(call_id, side), socket_id, ex=presence.TTL_SECONDS)


def side_present(call_id, side: str) -> bool:
    return bool(get_redis().exists(_here_key(call_id, side)))


def grace_seconds(side: str) -> int:
    """How long a side may be gone before its call ends without it: a network blip is not a
    hang-up, and a visitor reloading the page (or opening another page of the site) rejoins."""
    return current_app.config["CALL_REJOIN_SECONDS" if side == "visitor" else "CALL_REP_GRACE_SECONDS"]


def side_left(call_id, side: str, socket_id: str) -> None:
    """A call socket closed: if that side does not come back soon, the call ends without it."""
    redis = get_redis()
    if redis.get(_here_key(call_id, side)) == socket_id.encode():
        redis.delete(_here_key(call_id, side))
    queue().enqueue_in(timedelta(seconds=grace_seconds(side)), jobs.abandon_check, str(call_id), side)


def _missing_key(call_id, side: str) -> str:
    return f"call:{call_id}:missing:{side}"


def abandoned_call_sides(limit: int = 500) -> list[tuple]:
    """Answered calls with a side gone longer than its grace, for end_abandoned_calls.

    The delayed abandon check lives in Redis; this starts from the rows, so an answered call whose
    check was lost (Redis restarted empty, a worker killed) still ends. Redis remembers since when
    a side has been missing; live sockets mark themselves again within a heartbeat of a restart,
    so the grace only starts over: late, never wrong."""
    redis, now, due = get_redis(), utcnow().timestamp(), []
    accepted = db.session.scalars(sa.select(Call.id).where(Call.status == "accepted")
                                  .order_by(Call.accepted_at).limit(limit)).all()
    for call_id in accepted:
        for side in ("visitor", "rep"):
            if side_present(call_id, side):
                redis.delete(_missing_key(call_id, side))
                continue
            redis.set(_missing_key(call_id, side), now, nx=True, ex=KEY_TTL_SECONDS)
            since = float(redis.get(_missing_key(call_id, side)) or now)
            if now - since >= grace_seconds(side) + presence.HEARTBEAT_SECONDS:
                due.append((call_id, side))
                break
    return due


def abandon_check(call_id, side: str) -> Call | None:
    if side_present(call_id, side):
        return None
    status = current_status(call_id)
    if status == "requested" and side == "visitor":
        return cancel(call_id, reason="visitor_left")
    if status == "accepted":
        return end(call_id, "disconnected")
    return None


def as_uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None
