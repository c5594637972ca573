"""The call lifecycle. Each transition is one UPDATE guarded by the current status, with its
events, in one transaction: two reps accepting at once yield one winner, and a late accept
after a cancel or the ring timeout changes nothing. Realtime notices go out after the commit."""

import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import url_for

from app.availability import service as availability
from app.calls import jobs
from app.calls.payload import event_data
from app.events import iso, record_event
from app.extensions import db
from app.jobs import queue
from app.models import Call, CallEvent, Contact, Site, User
from app.models.base import utcnow
from app.models.widget import settings_for
from app.realtime import bus, presence
from app.recordings.service import schedule_finish, start_recording
from app.redis_store import get_redis

ABANDON_GRACE_SECONDS = {"visitor": 15, "rep": 30}  # a network blip is not a hang-up
KEY_TTL_SECONDS = 6 * 3600


class CallError(Exception):
    """A refused call action, with the JSON error code and HTTP status to answer with."""

    def __init__(self, code: str, message: str, status: int = 409):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def eligible_reps(organization_id) -> list[User]:
    """Who rings: exactly the reps the availability rule says can take a call now (active,
    Available, a dashboard open, inside their hours, not busy in their calendar)."""
    ids = availability.available_rep_ids(organization_id)
    if not ids:
        return []
    return list(db.session.scalars(sa.select(User).where(
        User.organization_id == organization_id, User.id.in_(ids))))


# ---- requesting a call ---------------------------------------------------------------------

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
    """The visitor's identity, reused across calls; what they tell us now updates it."""
    contact = db.session.scalar(sa.select(Contact).where(
        Contact.organization_id == organization_id, Contact.fingerprint == fingerprint))
    if contact is None:
        contact = Contact(organization_id=organization_id, fingerprint=fingerprint)
        db.session.add(contact)
    for field in ("name", "email", "phone"):
        if details.get(field):
            setattr(contact, field, details[field])
    if location is not None:
        contact.location = location
    contact.last_seen_at = utcnow()
    return contact


def request_call(site: Site, *, fingerprint: str, qualification: dict, media_type: str | None = None,
                 contact: dict | None = None, attributes: dict | None = None, page_url: str | None = None,
                 location: dict | None = None, ip: str | None = None,
                 recording_consent: bool = False) -> Call:
    """Queue the visitor's call: record call.requested, ring every eligible rep, start the timeout.

    The site's recording policy is stored with the call, and the visitor's consent with it when
    the policy asks for one (a consent given under another policy means nothing).
    """
    settings = settings_for(site)
    if settings.paused:
        raise CallError("calls_paused", "This team is not taking calls right now.", 409)
    if not get_redis().set(_open_key(site.id, fingerprint), "1", nx=True,
                           ex=settings.ring_timeout_seconds + 120):
        raise CallError("call_in_progress", "You already have a call waiting for an answer.", 409)
    try:
        call = _create_call(site, settings, fingerprint, qualification, media_type, contact, attributes,
                            page_url, location, ip, recording_consent)
    except Exception:
        # the request failed: do not leave the visitor locked out until the lock expires
        db.session.rollback()
        get_redis().delete(_open_key(site.id, fingerprint))
        raise
    _ring(call, settings.ring_timeout_seconds)
    return call


def _create_call(site, settings, fingerprint, qualification, media_type, contact, attributes, page_url,
                 location, ip, recording_consent) -> Call:
    call = Call(
        organization_id=site.organization_id, site_id=site.id, status="requested",
        media_type=media_type_for(settings.call_type, media_type), visitor_fingerprint=fingerprint,
        visitor_ip=ip, qualification_flow_id=qualification.get("flowId"),
        answers=qualification.get("answers") or [], attributes=attributes or {}, page_url=page_url,
        contact=upsert_contact(site.organization_id, fingerprint, contact or {}, location),
        requested_at=utcnow(), recording_policy=settings.recording_policy,
        recording_consent=settings.recording_policy == "consent" and bool(recording_consent),
    )
    db.session.add(call)
    db.session.flush()
    _record(call, "call.requested")
    db.session.commit()
    return call


def _ring(call: Call, timeout_seconds: int) -> None:
    rep_ids = availability.available_rep_ids(call.organization_id)  # eligible_reps, ids only: the hot path
    if not rep_ids:
        miss(call.id, reason="no_one_available")
        return
    pipe = get_redis().pipeline()
    pipe.sadd(_rung_key(call.id), *[str(rep_id) for rep_id in rep_ids])
    pipe.expire(_rung_key(call.id), KEY_TTL_SECONDS)
    pipe.execute()
    ring = {"type": "ring", "call": ring_view(call, timeout_seconds)}
    bus.publish_many([f"user:{rep_id}" for rep_id in rep_ids], ring)
    # the server, not a browser, decides that nobody answered
    queue().enqueue_in(timedelta(seconds=timeout_seconds), jobs.ring_timeout, str(call.id))


def ring_view(call: Call, timeout_seconds: int) -> dict:
    """What the incoming-call alert shows: who, where from, their answers, and how to answer."""
    contact = call.contact
    return {
        "id": str(call.id), "mediaType": call.media_type, "requestedAt": iso(call.requested_at),
        "expiresAt": iso(call.requested_at + timedelta(seconds=timeout_seconds)),
        "pageUrl": call.page_url, "siteDomain": call.site.domain if call.site else None,
        "contact": {"name": contact.name, "email": contact.email, "phone": contact.phone,
                    "location": place(contact.location)} if contact else None,
        "answers": answer_lines(call.answers),
        "acceptUrl": url_for("calls.accept", call_id=call.id),
        "declineUrl": url_for("calls.decline", call_id=call.id),
    }


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


def current_status(call_id) -> str | None:
    return db.session.scalar(sa.select(Call.status).where(Call.id == call_id))


def accept(call_id, user: User) -> Call:
    """First accept wins; everyone else's alert says who took it."""
    call = _transition(call_id, ("requested",), status="accepted", accepted_at=utcnow(),
                       accepted_by_id=user.id)
    if call is None:
        status = current_status(call_id)
        raise CallError(f"call_{status}", _UNAVAILABLE.get(status, "This call is no longer available."), 409)
    _record(call, "call.accepted")
    _start_recording(call, user)
    db.session.commit()
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
    message = {"type": "ended", "status": "ended", "reason": reason}
    bus.publish_many([f"call:{call.id}:visitor", f"call:{call.id}:rep"], message)
    # a rep browser that crashed never says "complete": the server assembles what arrived
    schedule_finish(call.id, call.organization_id)
    return call


def hang_up(call_id, side: str) -> Call | None:
    """A hang-up from either side: ends an answered call, cancels a waiting one (visitor only)."""
    if side == "visitor" and current_status(call_id) == "requested":
        return cancel(call_id)
    return end(call_id, f"{side}_hung_up")


def decline(call_id, user: User) -> Call | None:
    """This rep passes: their alert stops; when every rung rep declined, the call is missed."""
    redis = get_redis()
    redis.sadd(_declined_key(call_id), str(user.id))
    redis.expire(_declined_key(call_id), KEY_TTL_SECONDS)
    bus.publish(f"user:{user.id}", {"type": "call-update", "callId": str(call_id), "status": "declined"})
    rung = redis.smembers(_rung_key(call_id))
    if rung and rung <= redis.smembers(_declined_key(call_id)):
        return miss(call_id, reason="declined")
    return None


def _release_open_request(call: Call) -> None:
    get_redis().delete(_open_key(call.site_id, call.visitor_fingerprint))


def _notify_reps(call: Call, message: dict) -> None:
    """Tell every rep who was rung (all their tabs) what became of the call."""
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


def side_left(call_id, side: str, socket_id: str) -> None:
    """A call socket closed: if that side does not come back soon, the call ends without it."""
    redis = get_redis()
    if redis.get(_here_key(call_id, side)) == socket_id.encode():
        redis.delete(_here_key(call_id, side))
    queue().enqueue_in(timedelta(seconds=ABANDON_GRACE_SECONDS[side]), jobs.abandon_check, str(call_id), side)


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
