"""Calls: list (filters, cursor, updated_since), one call, its transcript and fresh recording URLs."""

import sqlalchemy as sa
from flask import jsonify

from app.api import bp
from app.api.auth import require_api_key
from app.api.errors import ApiError
from app.api.pagination import parse_time
from app.api.v1.common import (
    PREFIX,
    enum_arg,
    list_response,
    listed,
    org_object_or_404,
    uuid_arg,
)
from app.calls.payload import call_data, contact_data, routing_part
from app.events import iso
from app.extensions import db
from app.models import Call, Recording
from app.models.calls import CALL_STATUSES, MEDIA_TYPES
from app.recordings.events import recording_payload, transcript_payload
from app.tenancy import org_select


def call_json(call: Call, recording: Recording | None = None) -> dict:
    """The call as in the event envelope's data.call, with its contact, answers and what the API adds."""
    return {
        **call_data(call),
        "endReason": call.end_reason, "durationSeconds": call.duration_seconds,
        "pageUrl": call.page_url, "updatedAt": iso(call.updated_at),
        "contact": contact_data(call.contact), "qualificationAnswers": list(call.answers or []),
        "recording": None if recording is None else {
            "status": recording.status, "transcriptStatus": recording.transcript_status},
        "routing": routing_part(call),
    }


def call_recording(call: Call) -> Recording | None:
    from app.recordings.service import recording_for_call

    return recording_for_call(call.id, call.organization_id)


def _recordings_of(calls) -> dict:
    """The page's recordings in one query (not one per call)."""
    ids = [c.id for c in calls]
    if not ids:
        return {}
    rows = db.session.scalars(sa.select(Recording).where(Recording.call_id.in_(ids)))
    return {r.call_id: r for r in rows}


def _filtered():
    query = org_select(Call).options(sa.orm.selectinload(Call.contact), sa.orm.selectinload(Call.team))
    status, media = enum_arg("status", CALL_STATUSES), enum_arg("media_type", MEDIA_TYPES)
    site_id, rep_id = uuid_arg("site_id"), uuid_arg("rep_id")
    after, before = parse_time_arg("created_after"), parse_time_arg("created_before")
    conditions = [(status, lambda: Call.status == status), (media, lambda: Call.media_type == media),
                  (site_id, lambda: Call.site_id == site_id), (rep_id, lambda: Call.accepted_by_id == rep_id),
                  (after, lambda: Call.requested_at >= after), (before, lambda: Call.requested_at < before)]
    for wanted, condition in conditions:
        if wanted is not None:
            query = query.where(condition())
    return query


def parse_time_arg(name: str):
    from flask import request

    return parse_time(request.args, name)


@bp.get(PREFIX + "/calls")
@require_api_key("calls:read")
def calls_list():
    """Calls, newest first; with updated_since, oldest change first (for sync jobs)."""
    rows, cursor = listed(_filtered(), Call, Call.requested_at, descending=True)
    recordings = _recordings_of(rows)
    return list_response(rows, cursor, lambda c: call_json(c, recordings.get(c.id)))


@bp.get(PREFIX + "/calls/<call_id>")
@require_api_key("calls:read")
def calls_show(call_id):
    """One call."""
    call = org_object_or_404(Call, call_id, "Call")
    return jsonify(call_json(call, call_recording(call)))


def _recording_or_404(call_id) -> tuple[Call, Recording]:
    call = org_object_or_404(Call, call_id, "Call")
    recording = call_recording(call)
    if recording is None:
        raise ApiError(404, "not_found", f"Call {call_id} has no recording.")
    return call, recording


@bp.get(PREFIX + "/calls/<call_id>/transcript")
@require_api_key("calls:read", "recordings:read")
def calls_transcript(call_id):
    """The call's transcript (null until it is ready; `status` says where it is)."""
    call, recording = _recording_or_404(call_id)
    return jsonify({"callId": str(call.id), "status": recording.transcript_status,
                    "transcript": transcript_payload(recording)})


@bp.get(PREFIX + "/calls/<call_id>/recording")
@require_api_key("calls:read", "recordings:read")
def calls_recording(call_id):
    """Fresh signed, expiring URLs of the call's recording (each request signs new ones)."""
    call, recording = _recording_or_404(call_id)
    payload = recording_payload(recording, with_urls=True)
    return jsonify({"callId": str(call.id), "status": recording.status, **payload,
                    "durationSeconds": recording.duration_seconds})
