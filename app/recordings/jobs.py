"""Background work on recordings: assemble the uploaded chunks, transcribe, delete old recordings.

Jobs take ids, run inside the worker's app context and can run twice without harm.
"""

import logging
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.jobs import job_alive
from app.models.base import utcnow
from app.models.calls import Call
from app.models.recordings import AUDIO_TRACKS, Recording
from app.recordings import media, transcribe
from app.recordings.events import record_recording_ready, record_transcript_ready
from app.recordings.service import (
    assembly_job_id,
    chunk_keys,
    enqueue_assembly,
    enqueue_transcription,
    finish_call_recording,
    transcription_job_id,
)
from app.recordings.storage import get_storage

log = logging.getLogger(__name__)


def _load(recording_id) -> Recording | None:
    # the worker's session outlives one job: read the row as it is now, not as last seen
    return db.session.get(Recording, _as_uuid(recording_id), populate_existing=True)


def _as_uuid(value):
    import uuid

    return uuid.UUID(str(value))


def assemble_recording(recording_id: str) -> None:
    """Join each track's chunks into a seekable WebM, mix both voices, then call.recording_ready."""
    recording = _load(recording_id)
    if recording is None or recording.status != "assembling":
        return  # gone, or already done by an earlier run
    workdir = Path(tempfile.mkdtemp(prefix="converc-rec-"))
    try:
        _assemble(recording, workdir)
    except Exception as error:  # any failure is shown on the call page with a Retry button
        log.exception("assembling recording %s failed", recording_id)
        _failed(recording_id, error, "status", "error")
        return
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    enqueue_transcription(recording.id)


def _failed(recording_id: str, error: Exception, status_field: str, error_field: str) -> None:
    """A step failed: whatever it half did is dropped, and the recording says why (the call page
    shows it with a Retry button)."""
    db.session.rollback()
    recording = _load(recording_id)
    setattr(recording, status_field, "failed")
    setattr(recording, error_field, _reason(error))
    db.session.commit()


def _reason(error: Exception) -> str:
    return f"{error}"[:500] or error.__class__.__name__


def _assemble(recording: Recording, workdir: Path) -> None:
    storage = get_storage()
    audio_files = []
    if not recording.tracks:
        raise ValueError("Nothing was uploaded for this call.")
    for track in recording.tracks:
        final = _join_track(track, workdir, storage)
        if track.kind in AUDIO_TRACKS:
            _store(track, final, storage)
            audio_files.append(str(final))
    mixed = _mix(recording, audio_files, workdir, storage)
    video = recording.track("video")
    if video is not None:
        _store(video, _with_voices(workdir, mixed), storage)
    _mark_ready(recording, storage)


def _join_track(track, workdir: Path, storage) -> Path:
    """The track's chunks, in order, as one seekable WebM."""
    raw, final = workdir / f"{track.kind}.raw", workdir / f"{track.kind}.webm"
    with raw.open("wb") as out:
        for key in chunk_keys(track):
            out.write(storage.get_bytes(key))
    try:
        track.duration_seconds = media.remux(str(raw), str(final), track.kind)
    except Exception as error:
        # FFmpeg's own words, without our temporary file's path
        reason = getattr(error, "strerror", None) or str(error)
        raise ValueError(f"The {track.kind} track could not be read: {reason}.") from error
    return final


def _store(track, path: Path, storage) -> None:
    track.storage_key = f"{track.recording.organization_id}/{track.recording.id}/{track.kind}.webm"
    track.size = path.stat().st_size
    storage.put_file(track.storage_key, str(path))


def _with_voices(workdir: Path, mixed: Path | None) -> Path:
    """The video file people play: the call's video with both voices."""
    if mixed is None:
        return workdir / "video.webm"
    target = workdir / "video-with-audio.webm"
    media.mux_video(str(workdir / "video.webm"), str(mixed), str(target))
    return target


def _mix(recording: Recording, audio_files: list[str], workdir: Path, storage) -> Path | None:
    """Both voices in one file: the recording's audioUrl."""
    if not audio_files:
        return None
    mixed = workdir / "audio.webm"
    recording.duration_seconds = media.mix_audio(audio_files, str(mixed))
    recording.audio_key = f"{recording.organization_id}/{recording.id}/audio.webm"
    recording.audio_size = mixed.stat().st_size
    storage.put_file(recording.audio_key, str(mixed))
    return mixed


def _mark_ready(recording: Recording, storage) -> None:
    recording.status, recording.error, recording.ready_at = "ready", None, utcnow()
    if recording.duration_seconds is None:
        recording.duration_seconds = max((t.duration_seconds or 0) for t in recording.tracks)
    record_recording_ready(recording)
    db.session.commit()
    # the chunks are in the assembled files now
    storage.delete_prefix(f"{recording.organization_id}/{recording.id}/chunks/")


def transcribe_recording(recording_id: str) -> None:
    """Transcribe each speaker's track, merge by time, then call.transcript_ready."""
    recording = _load(recording_id)
    if recording is None or recording.status != "ready" or recording.transcript_status == "ready":
        return
    recording.transcript_status, recording.transcript_error = "running", None
    db.session.commit()
    workdir = Path(tempfile.mkdtemp(prefix="converc-stt-"))
    try:
        transcript = _transcribe(recording, workdir)
    except Exception as error:  # shown on the call page with a Retry button
        log.exception("transcribing recording %s failed", recording_id)
        _failed(recording_id, error, "transcript_status", "transcript_error")
        return
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    recording.transcript, recording.transcript_status = transcript, "ready"
    recording.transcript_ready_at = utcnow()
    record_transcript_ready(recording)
    db.session.commit()


def _transcribe(recording: Recording, workdir: Path) -> dict:
    config = current_app.config
    stt = transcribe.engine(config)
    parts, language = {}, config["TRANSCRIPT_LANGUAGE"]
    for kind in AUDIO_TRACKS:
        track = recording.track(kind)
        if track is None or not track.storage_key:
            continue
        path = workdir / f"{kind}.webm"
        get_storage().download(track.storage_key, str(path))
        parts[kind], language = stt.transcribe(str(path), config["TRANSCRIPT_LANGUAGE"])
    names = {"visitor": recording.visitor_name, "rep": recording.rep_name}
    return transcribe.merge(parts, names, language)


def finish_call_recording_job(call_id: str, organization_id: str) -> None:
    """The call ended a while ago: assemble what arrived if the rep's browser never said "complete"."""
    from app.recordings.service import finish_call_recording

    db.session.expire_all()  # the worker's session may remember the recording as it was
    finish_call_recording(call_id, organization_id)


def finish_overdue_recordings() -> dict:
    """The periodic pass (cron.py): recording work whose RQ job was lost (Redis restarted empty,
    a worker killed) is started again from the rows.

    A recording still open RECORDING_FINISH_GRACE_SECONDS after its call ended is finished; one
    assembling, or waiting for its transcript, whose job no longer exists is enqueued again.
    """
    config = current_app.config
    now, grace = utcnow(), timedelta(seconds=config["OWED_SWEEP_SECONDS"])
    finish_by = now - timedelta(seconds=max(config["RECORDING_FINISH_GRACE_SECONDS"], 0)) - grace
    open_ = db.session.execute(sa.select(Recording.call_id, Recording.organization_id).join(
        Call, Call.id == Recording.call_id).where(
        Recording.status == "recording", Call.ended_at.is_not(None), Call.ended_at <= finish_by)).all()
    for call_id, organization_id in open_:
        finish_call_recording(call_id, organization_id)
    assembling = db.session.scalars(sa.select(Recording.id).where(
        Recording.status == "assembling", Recording.completed_at <= now - grace)).all()
    lost = [i for i in assembling if not job_alive(assembly_job_id(i))]
    for recording_id in lost:
        enqueue_assembly(recording_id)
    waiting = db.session.scalars(sa.select(Recording.id).where(
        Recording.status == "ready", Recording.transcript_status.in_(("pending", "running")),
        Recording.ready_at <= now - grace)).all()
    untranscribed = [i for i in waiting if not job_alive(transcription_job_id(i))]
    for recording_id in untranscribed:
        enqueue_transcription(recording_id)
    return {"finished": len(open_), "assemblies": len(lost), "transcriptions": len(untranscribed)}


def purge_expired_recordings() -> int:
    """Delete recordings (files, transcript, rows) older than RECORDING_RETENTION_DAYS; 0 keeps all."""
    days = current_app.config["RECORDING_RETENTION_DAYS"]
    if days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    expired = db.session.scalars(sa.select(Recording).where(Recording.created_at < cutoff)).all()
    for recording in expired:
        get_storage().delete_prefix(f"{recording.organization_id}/{recording.id}/")
        db.session.delete(recording)
        db.session.commit()  # one at a time: a crash halfway leaves nothing half-deleted
    return len(expired)
