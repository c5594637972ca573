"""Recording rules: who may be recorded, taking uploads, finishing and retrying. Views stay thin."""

import hashlib
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.jobs import enqueue
from app.models.base import utcnow
from app.models.recordings import TRACK_KINDS, Recording, RecordingChunk, RecordingTrack
from app.models.widget import RECORDING_POLICIES
from app.recordings.media import TRACK_TYPES, base_type, sniff
from app.recordings.storage import get_storage

MAX_SEQ = 1_000_000


class UploadError(Exception):
    """A refused upload: the status and `{"error": {"code", "message"}}` the client gets."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def may_record(policy: str | None, consent_given: bool) -> bool:
    """Off never records; notice records (the visitor was told); consent records only with a yes."""
    if policy == "notice":
        return True
    return policy == "consent" and bool(consent_given)


def start_recording(call_id, organization_id, policy: str, consent_given: bool = False,
                    visitor_name: str | None = None, rep_name: str | None = None) -> Recording | None:
    """The call's Recording (added to the current transaction) when it may be recorded; else None."""
    if policy not in RECORDING_POLICIES:
        raise ValueError(f"unknown recording policy {policy!r}")
    if not may_record(policy, consent_given):
        return None
    recording = recording_for_call(call_id, organization_id)
    if recording is None:
        recording = Recording(call_id=_uuid(call_id), organization_id=_uuid(organization_id),
                              policy=policy, consent_given=bool(consent_given),
                              visitor_name=visitor_name or "Visitor", rep_name=rep_name or "Rep")
        db.session.add(recording)
        db.session.flush()
    return recording


def _uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def recording_for_call(call_id, organization_id) -> Recording | None:
    try:
        call_id, organization_id = _uuid(call_id), _uuid(organization_id)
    except ValueError:
        return None
    return db.session.scalar(sa.select(Recording).where(
        Recording.call_id == call_id, Recording.organization_id == organization_id))


def mark_started(recording: Recording) -> None:
    """The recorder is about to start: transcript times count from here."""
    if recording.started_at is None:
        recording.started_at = utcnow()
        db.session.commit()


def receive_chunk(recording: Recording | None, kind: str, seq: int, data: bytes,
                  declared_type: str | None) -> bool:
    """Store one chunk; True when new, False when it is a retry of one we have. Raises UploadError."""
    _check_open(recording, kind, seq, data)
    track = recording.track(kind)
    existing = _existing_chunk(track, seq) if track else None
    if existing is not None:
        if existing.sha256 != hashlib.sha256(data).hexdigest():
            raise UploadError(409, "chunk_conflict", f"Chunk {seq} was already received with other bytes.")
        return False
    track = track or _new_track(recording, kind, seq, data, declared_type)
    _check_chunk(track, seq, data, declared_type)
    return _store_chunk(recording, track, seq, data)


def _check_open(recording, kind, seq, data) -> None:
    if recording is None or not may_record(recording.policy, recording.consent_given):
        raise UploadError(403, "recording_not_allowed", "This call is not being recorded.")
    if recording.status != "recording":
        raise UploadError(409, "recording_closed", "This recording is complete: no more uploads.")
    if kind not in TRACK_KINDS:
        raise UploadError(404, "unknown_track", f"Tracks are {', '.join(TRACK_KINDS)}.")
    if not 0 <= seq < MAX_SEQ:
        raise UploadError(400, "invalid_sequence", "The sequence number is out of range.")
    if not data:
        raise UploadError(400, "empty_chunk", "The chunk is empty.")
    if len(data) > current_app.config["RECORDING_CHUNK_MAX_BYTES"]:
        raise UploadError(413, "chunk_too_large",
                          f"A chunk may be at most {current_app.config['RECORDING_CHUNK_MAX_BYTES']} bytes.")


def _existing_chunk(track: RecordingTrack, seq: int) -> RecordingChunk | None:
    return db.session.scalar(sa.select(RecordingChunk).where(
        RecordingChunk.track_id == track.id, RecordingChunk.seq == seq))


def _new_track(recording: Recording, kind: str, seq: int, data: bytes, declared_type) -> RecordingTrack:
    """The first chunk opens the track: its bytes decide what the track holds."""
    if seq != 0:
        raise UploadError(409, "first_chunk_missing", "Upload chunk 0 of this track first.")
    sniffed = sniff(data)
    if sniffed not in TRACK_TYPES[kind]:
        allowed = " or ".join(TRACK_TYPES[kind])
        raise UploadError(415, "unsupported_media_type", f"The {kind} track must be {allowed}.")
    track = RecordingTrack(recording=recording, kind=kind, content_type=sniffed,
                           chunk_count=0, uploaded_bytes=0)
    db.session.add(track)
    return track


def _check_chunk(track: RecordingTrack, seq: int, data: bytes, declared_type) -> None:
    if base_type(declared_type) != track.content_type:
        raise UploadError(415, "unsupported_media_type",
                          f"This track is {track.content_type}; the chunk says {base_type(declared_type)!r}.")
    if track.uploaded_bytes + len(data) > current_app.config["RECORDING_TRACK_MAX_BYTES"]:
        raise UploadError(413, "track_too_large", "This track is over the recording size limit.")


def _store_chunk(recording: Recording, track: RecordingTrack, seq: int, data: bytes) -> bool:
    key = f"{recording.organization_id}/{recording.id}/chunks/{track.kind}/{seq:08d}"
    get_storage().put_bytes(key, data)
    db.session.add(RecordingChunk(track=track, seq=seq, size=len(data),
                                  sha256=hashlib.sha256(data).hexdigest(), storage_key=key))
    if sa.inspect(track).persistent:
        # counted in SQL: two chunks of one track arriving at once both count
        track.chunk_count = RecordingTrack.chunk_count + 1
        track.uploaded_bytes = RecordingTrack.uploaded_bytes + len(data)
    else:
        track.chunk_count, track.uploaded_bytes = 1, len(data)
    recording.started_at = recording.started_at or utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        # the same chunk arrived twice at once (a retry racing the original): the other one won
        db.session.rollback()
        return False
    return True


def complete(recording: Recording | None) -> Recording:
    """The call ended: assemble the files (in a job). Calling it again changes nothing."""
    if recording is None or not may_record(recording.policy, recording.consent_given):
        raise UploadError(403, "recording_not_allowed", "This call is not being recorded.")
    if recording.status == "recording":
        recording.status = "assembling"
        recording.completed_at = utcnow()
        db.session.commit()
        enqueue_assembly(recording.id)
        announce(recording.call_id, "stopped")
    return recording


def finish_call_recording(call_id, organization_id) -> Recording | None:
    """The call ended on the server (a hang-up, or the rep's browser died): assemble what arrived.

    The calls feature calls this after committing call.ended; it commits and enqueues the job.
    """
    recording = recording_for_call(call_id, organization_id)
    if recording is not None and recording.status == "recording":
        complete(recording)
    return recording


def schedule_finish(call_id, organization_id) -> None:
    """After call.ended: finish the recording once the rep's browser had time to send its last chunks.

    The browser normally says "complete" itself within seconds; this catches a browser that
    crashed or closed, so what arrived is still assembled. Finishing earlier would refuse those
    last chunks (the recording is closed once assembly starts).
    """
    from app.jobs import queue
    from app.recordings.jobs import finish_call_recording_job

    recording = recording_for_call(call_id, organization_id)
    if recording is None or recording.status != "recording":
        return  # not recorded, or the browser already said "complete"
    grace = current_app.config["RECORDING_FINISH_GRACE_SECONDS"]
    if grace <= 0:
        finish_call_recording(call_id, organization_id)
        return
    queue().enqueue_in(timedelta(seconds=grace), finish_call_recording_job,
                       str(call_id), str(organization_id))


def is_recording(call_id) -> bool:
    """The rep's recorder started and the call is still being recorded (the visitor's indicator)."""
    return bool(db.session.scalar(sa.select(Recording.id).where(
        Recording.call_id == _uuid(call_id), Recording.status == "recording",
        Recording.started_at.is_not(None))))


def announce(call_id, state: str) -> None:
    """Tell the visitor's call screen that recording started or stopped (its indicator)."""
    from app.realtime import bus

    bus.publish(f"call:{call_id}:visitor", {"type": "recording", "state": state})


def assembly_job_id(recording_id) -> str:
    # one job id per recording and step: the owed-work pass can tell whether its job still exists
    return f"assemble-recording-{recording_id}"


def transcription_job_id(recording_id) -> str:
    return f"transcribe-recording-{recording_id}"


def enqueue_assembly(recording_id) -> None:
    from app.recordings.jobs import assemble_recording

    enqueue(assemble_recording, str(recording_id), job_timeout=1800, job_id=assembly_job_id(recording_id))


def enqueue_transcription(recording_id) -> None:
    from app.recordings.jobs import transcribe_recording

    enqueue(transcribe_recording, str(recording_id), job_timeout=3600,
            job_id=transcription_job_id(recording_id))


def retry(recording: Recording) -> Recording:
    """Run the failed step again: the assembly, or else the transcription."""
    if recording.status == "failed":
        recording.status, recording.error = "assembling", None
        db.session.commit()
        enqueue_assembly(recording.id)
    elif recording.status == "ready" and recording.transcript_status == "failed":
        recording.transcript_status, recording.transcript_error = "pending", None
        db.session.commit()
        enqueue_transcription(recording.id)
    return recording


def chunk_keys(track: RecordingTrack) -> list[str]:
    return list(db.session.scalars(sa.select(RecordingChunk.storage_key)
                                   .where(RecordingChunk.track_id == track.id)
                                   .order_by(RecordingChunk.seq)))
