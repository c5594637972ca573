"""Helpers shared by the recording tests: a recording to upload to, chunked uploads, the worker."""

import io
import uuid

import av
from rq import SimpleWorker

from app.extensions import db
from app.models import Call
from app.models.base import utcnow
from app.recordings.service import start_recording
from app.recordings.tokens import upload_token
from app.redis_store import get_redis

AUDIO = "audio/webm;codecs=opus"


def new_call(organization_id, policy="notice", consent=False) -> Call:
    """An answered call of a site that records (the recording's call, for its envelope)."""
    call = Call(organization_id=organization_id, status="accepted",
                visitor_fingerprint=f"fp-{uuid.uuid4().hex}", recording_policy=policy,
                recording_consent=consent, requested_at=utcnow(), accepted_at=utcnow())
    db.session.add(call)
    db.session.flush()
    return call


def new_recording(organization_id, policy="notice", consent=False, **names):
    call = new_call(organization_id, policy, consent)
    recording = start_recording(call.id, organization_id, policy, consent, **names)
    db.session.commit()
    return recording


def auth_headers(recording, content_type=AUDIO):
    token = upload_token(recording.call_id, recording.organization_id)
    return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


def chunk_url(recording, kind, seq):
    return f"/recordings/calls/{recording.call_id}/tracks/{kind}/chunks/{seq}"


def upload(client, recording, kind, data: bytes, content_type=AUDIO, chunk_size=16 * 1024):
    """Send `data` as the recorder does: numbered chunks, in order; every answer must be 201."""
    pieces = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]
    for seq, piece in enumerate(pieces):
        response = client.post(chunk_url(recording, kind, seq), data=piece,
                               headers=auth_headers(recording, content_type))
        assert response.status_code == 201, response.get_json()
    return len(pieces)


def complete(client, recording):
    return client.post(f"/recordings/calls/{recording.call_id}/complete", headers=auth_headers(recording))


def run_jobs():
    """Run every queued job in this process (a real RQ worker, burst mode), in this app context."""
    SimpleWorker(["default"], connection=get_redis()).work(burst=True)


def webm_video(seconds: float = 2.0, size=(160, 120), rate=15) -> bytes:
    """A VP8 WebM with moving colours, as MediaRecorder's video/webm;codecs=vp8 would give."""
    out = io.BytesIO()
    with av.open(out, "w", format="webm") as dst:
        stream = dst.add_stream("libvpx", rate=rate)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * rate)):
            frame = av.VideoFrame(size[0], size[1], "yuv420p")
            for plane, value in zip(frame.planes, (i * 8 % 256, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            frame.pts = i
            for packet in stream.encode(frame):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return out.getvalue()
