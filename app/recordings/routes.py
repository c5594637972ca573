"""The call page's recording: the player, the transcript beside it, progress and Retry."""

import sqlalchemy as sa
from flask import abort, request, url_for
from flask_login import login_required

from app.extensions import db
from app.htmx import is_htmx, redirect_to, render
from app.models import Call
from app.models.recordings import Recording
from app.pager import newest_first
from app.recordings import bp
from app.recordings.service import retry as retry_recording
from app.recordings.tokens import media_url
from app.tenancy import org_get_or_404, org_select

PLAYER_URL_TTL = 3600  # the page's player: long enough to listen to a long call
PER_PAGE = 25


@bp.get("/recordings")
@login_required
def index():
    """The organization's recordings, newest first, a keyset page at a time (as Calls)."""
    # each row's call, its contact and rep in the same query: no statement per row
    query = org_select(Recording).options(
        sa.orm.joinedload(Recording.call).joinedload(Call.contact),
        sa.orm.joinedload(Recording.call).joinedload(Call.accepted_by))
    page = newest_first(query, Recording.created_at, Recording.id, request.args, PER_PAGE)
    return render("recordings/index.html", "recordings/_list.html", recordings=page)


def _context(recording: Recording) -> dict:
    urls = {}
    if recording.status == "ready":
        video = recording.track("video")
        if video is not None and video.storage_key:
            urls["video"] = media_url(recording, "video", PLAYER_URL_TTL)
        if recording.audio_key:
            urls["audio"] = media_url(recording, "audio", PLAYER_URL_TTL)
    return {"recording": recording, "media_urls": urls}


def player_context(call_id) -> dict:
    """What `recordings/_player.html` needs for a call (recording None when it was not recorded).

    The call detail page includes the partial with this context.
    """
    recording = db.session.scalar(org_select(Recording).where(Recording.call_id == call_id))
    return _context(recording) if recording else {"recording": None, "media_urls": {}}


@bp.get("/calls/<uuid:call_id>/recording")
@login_required
def show(call_id):
    """The call's recording and transcript; a 404 when this organization has none for the call."""
    context = player_context(call_id)
    if context["recording"] is None:
        abort(404)
    return render("recordings/show.html", "recordings/_player.html", call_id=call_id, **context)


@bp.get("/recordings/<uuid:recording_id>/card")
@login_required
def card(recording_id):
    """The progress card polls this until the recording and transcript are ready."""
    recording = org_get_or_404(Recording, recording_id)
    return render("recordings/show.html", "recordings/_player.html", call_id=recording.call_id,
                  **_context(recording))


@bp.post("/recordings/<uuid:recording_id>/retry")
@login_required
def retry(recording_id):
    """Run the failed assembly or transcription again."""
    recording = retry_recording(org_get_or_404(Recording, recording_id))
    if is_htmx():
        # swap the panel in place: it shows the progress card, which polls until done
        return render("recordings/show.html", "recordings/_player.html", call_id=recording.call_id,
                      **_context(recording))
    return redirect_to(url_for("recordings.show", call_id=recording.call_id))


@bp.app_template_filter("recording_clock")
def recording_clock(seconds) -> str:
    """73.4 → "1:13"; an hour or more → "1:02:03"."""
    total = int(seconds or 0)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
