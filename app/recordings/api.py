"""The recorder's uploads (authorised by the upload token) and the signed, expiring media URLs."""

from flask import Response, abort, current_app, jsonify, request

from app.extensions import db
from app.inbound import body_limit
from app.models.recordings import Recording
from app.recordings import public_bp as bp
from app.recordings.service import (
    UploadError,
    announce,
    complete,
    mark_started,
    may_record,
    receive_chunk,
    recording_for_call,
)
from app.recordings.storage import get_storage
from app.recordings.tokens import MEDIA_KINDS, load_upload_token, media_signature_valid


def error(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.errorhandler(UploadError)
def upload_refused(e: UploadError):
    return error(e.status, e.code, e.message)


def _authorised_recording(call_id: str) -> Recording | None:
    """The call's recording when the request carries a valid upload token for this call."""
    header = request.headers.get("Authorization", "")
    claims = load_upload_token(header[7:].strip()) if header.lower().startswith("bearer ") else None
    if claims is None or claims["call_id"] != call_id:
        raise UploadError(401, "unauthorized", "A valid upload token for this call is required.")
    recording = recording_for_call(call_id, claims["organization_id"])
    if recording is None or not may_record(recording.policy, recording.consent_given):
        raise UploadError(403, "recording_not_allowed", "This call is not being recorded.")
    return recording


def _state(recording: Recording) -> dict:
    return {"recording": {"id": str(recording.id), "status": recording.status, "policy": recording.policy,
                          "tracks": {t.kind: t.chunk_count for t in recording.tracks}}}


@bp.post("/calls/<call_id>/start")
def start(call_id):
    """Tell the recorder whether to record, and note when it began."""
    recording = _authorised_recording(call_id)
    if recording.status != "recording":
        raise UploadError(409, "recording_closed", "This recording is complete: no more uploads.")
    mark_started(recording)
    announce(call_id, "recording")
    return jsonify(_state(recording))


@bp.post("/calls/<call_id>/tracks/<kind>/chunks/<int:seq>")
@body_limit("RECORDING_CHUNK_MAX_BYTES")
def chunk(call_id, kind, seq):
    """Store one chunk of a track; a retried chunk answers 200 and changes nothing."""
    recording = _authorised_recording(call_id)
    created = receive_chunk(recording, kind, seq, _body(), request.content_type)
    return jsonify({"track": kind, "seq": seq, "duplicate": not created}), 201 if created else 200


def _body() -> bytes:
    # refuse an oversized chunk before reading it
    limit = current_app.config["RECORDING_CHUNK_MAX_BYTES"]
    if (request.content_length or 0) > limit:
        raise UploadError(413, "chunk_too_large", f"A chunk may be at most {limit} bytes.")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise UploadError(413, "chunk_too_large", f"A chunk may be at most {limit} bytes.")
    return data


@bp.post("/calls/<call_id>/complete")
def finish(call_id):
    """The call ended: assemble the files and transcribe them, in the background."""
    recording = complete(_authorised_recording(call_id))
    return jsonify(_state(recording)), 202


@bp.get("/media/<uuid:recording_id>/<any(video, audio):kind>.webm")
def media(recording_id, kind):
    """Serve a recording file to whoever holds a valid signed URL; ranges for seeking."""
    if not media_signature_valid(recording_id, kind, request.args.get("expires"),
                                 request.args.get("signature")):
        abort(403)
    recording = db.session.get(Recording, recording_id)
    key = _media_key(recording, kind)
    size = get_storage().size(key) if key else None
    if size is None:
        abort(404)
    return _ranged(key, size, MEDIA_KINDS[kind])


def _media_key(recording: Recording | None, kind: str) -> str | None:
    if recording is None or recording.status != "ready":
        return None
    if kind == "audio":
        return recording.audio_key
    track = recording.track("video")
    return track.storage_key if track else None


def _ranged(key: str, size: int, mimetype: str) -> Response:
    """200 with the whole file, 206 with the asked part, 416 for a part past the end."""
    byte_range = request.range
    start, length, status = 0, size, 200
    if byte_range is not None:
        span = byte_range.range_for_length(size)
        if span is None:
            response = Response(status=416)
            response.headers["Content-Range"] = f"bytes */{size}"
            return response
        start, length, status = span[0], span[1] - span[0], 206
    response = Response(get_storage().read_range(key, start, length), status=status, mimetype=mimetype,
                        direct_passthrough=True)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Content-Length"] = str(length)
    response.headers["Cache-Control"] = "private, max-age=300"
    if status == 206:
        response.headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    return response
