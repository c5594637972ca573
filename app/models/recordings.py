"""Call recordings: one per call, its uploaded tracks and chunks, and the transcript."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, created_at, org_fk, utcnow, uuid_pk

RECORDING_STATUSES = ("recording", "assembling", "ready", "failed")
TRANSCRIPT_STATUSES = ("pending", "running", "ready", "failed")
# the speakers' own audio (so the transcript knows who spoke) and the call's video
TRACK_KINDS = ("visitor", "rep", "video")
AUDIO_TRACKS = ("visitor", "rep")


class Recording(db.Model):
    # the Recordings page: the organization's, newest first, a keyset page at a time
    __table_args__ = (sa.Index("ix_recording_org_created", "organization_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = org_fk()
    # one recording per call; it goes when its call goes
    call_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("call.id", ondelete="CASCADE"), unique=True, index=True
    )
    policy: Mapped[str] = mapped_column(sa.String(10))
    consent_given: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(12), default="recording")
    error: Mapped[str | None] = mapped_column(sa.Text)
    visitor_name: Mapped[str] = mapped_column(sa.String(200), default="Visitor")
    rep_name: Mapped[str] = mapped_column(sa.String(200), default="Rep")
    # the mixed audio of both speakers, made from the two tracks when the call ends
    audio_key: Mapped[str | None] = mapped_column(sa.String(500))
    audio_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    duration_seconds: Mapped[float | None]
    transcript: Mapped[dict | None] = mapped_column(sa.JSON)
    transcript_status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    transcript_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transcript_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    call = relationship("Call", viewonly=True)
    tracks: Mapped[list["RecordingTrack"]] = relationship(
        back_populates="recording", cascade="all, delete-orphan", order_by="RecordingTrack.kind"
    )

    def track(self, kind: str) -> "RecordingTrack | None":
        return next((t for t in self.tracks if t.kind == kind), None)


class RecordingTrack(db.Model):
    __table_args__ = (sa.UniqueConstraint("recording_id", "kind", name="uq_recording_track_kind"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    recording_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("recording.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(10))
    # sniffed from the first chunk: audio/webm, audio/ogg or video/webm
    content_type: Mapped[str] = mapped_column(sa.String(40))
    chunk_count: Mapped[int] = mapped_column(default=0)
    uploaded_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # the assembled file, once the call ended
    storage_key: Mapped[str | None] = mapped_column(sa.String(500))
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    duration_seconds: Mapped[float | None]
    created_at: Mapped[datetime] = created_at()

    recording: Mapped[Recording] = relationship(back_populates="tracks")


class RecordingChunk(db.Model):
    """One uploaded piece of a track; (track, seq) is unique, which makes a retried upload harmless."""

    __table_args__ = (sa.UniqueConstraint("track_id", "seq", name="uq_recording_chunk_seq"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    track_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("recording_track.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int]
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = created_at()

    track: Mapped[RecordingTrack] = relationship()
