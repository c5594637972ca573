"""Connection facts each browser sends over its call socket (`{"type": "report", …}`): ICE state
changes, the selected candidate pair, time to connected, why it failed, a getStats summary.
Everything is checked and bounded here: the browser is not trusted with what we store."""

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Call, CallConnection
from app.models.base import utcnow
from app.models.connections import CANDIDATE_TYPES

# the browser's iceConnectionState values, and "restarting" when the visitor restarts ICE
ICE_STATES = ("new", "checking", "connected", "completed", "disconnected", "failed", "closed", "restarting")
FAILURES = ("ice_failed", "media_failed", "timeout")
QUALITY = {"rttMs": 60_000, "jitterMs": 60_000, "packetLossPct": 100, "bitrateKbps": 1_000_000,
           "framesDecoded": 10**9, "framesDropped": 10**9, "framesPerSecond": 240}
MAX_STATES = 50


def record_report(call_id, side: str, report: dict) -> None:
    """Apply one report to the side's row (created on the first one)."""
    row = _row(call_id, side)
    if row is None:
        return
    kind = report.get("event")
    at = _number(report.get("at"), 24 * 3600 * 1000)
    if kind == "ice" and report.get("state") in ICE_STATES and len(row.ice_states) < MAX_STATES:
        row.ice_states = [*row.ice_states, {"state": report["state"], "at": at}]
    elif kind == "connected":
        pair = report.get("pair") if isinstance(report.get("pair"), dict) else {}
        row.local_candidate = _choice(pair.get("local"), CANDIDATE_TYPES)
        row.remote_candidate = _choice(pair.get("remote"), CANDIDATE_TYPES)
        row.protocol = _choice(pair.get("protocol"), ("udp", "tcp"))
        if row.connected_after_ms is None:
            row.connected_after_ms = at
        row.failure_reason = None
    elif kind == "failed" and row.connected_after_ms is None:
        row.failure_reason = _choice(report.get("reason"), FAILURES) or "ice_failed"
    elif kind == "quality" and isinstance(report.get("quality"), dict):
        numbers = {key: _number(report["quality"].get(key), ceiling) for key, ceiling in QUALITY.items()}
        row.quality = {key: value for key, value in numbers.items() if value is not None}
    db.session.commit()


def _row(call_id, side: str) -> CallConnection | None:
    row = db.session.scalar(sa.select(CallConnection).where(CallConnection.call_id == call_id,
                                                            CallConnection.side == side))
    if row is not None:
        return row
    organization_id = db.session.scalar(sa.select(Call.organization_id).where(Call.id == call_id))
    if organization_id is None:
        return None
    row = CallConnection(call_id=call_id, side=side, organization_id=organization_id, ice_states=[])
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # the same side's other socket (a reconnect) created it just now
        db.session.rollback()
        return _row(call_id, side)
    return row


def _choice(value, allowed):
    return value if value in allowed else None


def _number(value, ceiling):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return round(min(max(float(value), 0.0), ceiling), 2)


def for_call(call_id) -> dict[str, CallConnection]:
    rows = db.session.scalars(sa.select(CallConnection).where(CallConnection.call_id == call_id))
    return {row.side: row for row in rows}


def failed_to_connect(organization_id, days: int = 7) -> tuple[int, int]:
    """(answered calls that never connected, answered calls) over the last `days` days.

    A call connected when at least one browser reported a connected pair."""
    since = utcnow() - timedelta(days=days)
    answered = sa.select(Call.id).where(Call.organization_id == organization_id,
                                        Call.accepted_at.is_not(None), Call.requested_at >= since)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(answered.subquery()))
    connected = sa.select(CallConnection.call_id).where(CallConnection.connected_after_ms.is_not(None))
    failed = db.session.scalar(sa.select(sa.func.count()).select_from(
        answered.where(Call.id.not_in(connected), Call.status == "ended").subquery()))
    return failed, total
