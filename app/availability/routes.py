import uuid
from functools import wraps

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.availability import bp, describe, service
from app.availability.forms import (
    DAYS,
    OverrideForm,
    WeekDraft,
    apply_op,
    fmt,
    interval_error,
    parse_time,
    validate,
)
from app.availability.rules import org_availability
from app.calls.connection import failed_to_connect
from app.htmx import is_htmx, render
from app.models import DateOverride, Site, User
from app.models.widget import settings_for
from app.routing import refusals
from app.tenancy import admin_required, org_get_or_404, org_list

EDITOR = ("availability/index.html", "availability/_editor.html")


def _rep(user_id: uuid.UUID | None) -> User:
    """The rep whose hours are edited: yourself, or (admins only) any teammate."""
    if user_id is None or user_id == current_user.id:
        return current_user
    if not current_user.is_admin:
        abort(403)
    return org_get_or_404(User, user_id)


def _draft_for(rep: User) -> WeekDraft:
    schedule = service.rep_schedule(rep)
    default = service.default_schedule(rep.organization_id)
    if schedule is None and rep.id == current_user.id:
        draft = WeekDraft.from_weekly("", default.weekly, follows_default=True)
        draft.notice = "Your timezone is not saved yet: we picked your browser's. Save to keep it."
        return draft
    if schedule is None:  # an admin looking at a rep who never opened this page
        return WeekDraft.from_weekly(default.timezone, default.weekly, follows_default=True)
    weekly = default.weekly if schedule.follows_default else schedule.weekly
    return WeekDraft.from_weekly(schedule.timezone, weekly, schedule.follows_default)


def _editor(rep: User, draft: WeekDraft | None = None, override_form=None, status=200,
            saved: str = "", override_saved: str = ""):
    now = service.utcnow()
    facts, rep_status = service.status_for(rep, now)
    return render(
        *EDITOR, status=status, rep=rep, draft=draft or _draft_for(rep), days=DAYS,
        timezones=sorted(service.TIMEZONES), saved=saved, override_saved=override_saved,
        default=service.default_schedule(rep.organization_id),
        overrides=service.upcoming_overrides(rep, service.local_time(now, facts.timezone).date()),
        override_form=override_form or OverrideForm(formdata=None),
        members=org_list(User, User.name) if current_user.is_admin else [],
        reason=describe.reason(facts, rep_status, now), fmt_minutes=_fmt_intervals,
    )


def _fmt_intervals(intervals) -> str:
    return ", ".join(f"{fmt(s)}–{fmt(e)}" for s, e in intervals) or "Day off"


@bp.get("/settings/availability")
@bp.get("/settings/availability/reps/<uuid:user_id>")
@login_required
def index(user_id: uuid.UUID | None = None):
    """The weekly hours, timezone and date overrides of a rep (yourself by default)."""
    return _editor(_rep(user_id))


@bp.post("/settings/availability/reps/<uuid:user_id>/schedule")
@login_required
def schedule_update(user_id: uuid.UUID):
    """Edit the weekly hours: add/remove/copy rows re-render the draft; save validates and stores."""
    rep = _rep(user_id)
    draft = WeekDraft.from_form(request.form)
    op = request.form.get("op", "save")
    if op not in ("save", "mode"):
        apply_op(draft, op, request.form)
        return _editor(rep, draft)
    if op == "mode":
        return _editor(rep, _switch_mode(rep, draft))
    if not validate(draft, hours=not draft.follows_default):
        return _editor(rep, draft, status=422)
    service.save_schedule(rep, draft.timezone, draft.weekly(), draft.follows_default)
    return _editor(rep, saved="Hours saved.")


def _switch_mode(rep: User, draft: WeekDraft) -> WeekDraft:
    """Following the default shows its hours; customizing starts from your own, else the default's."""
    schedule = service.rep_schedule(rep)
    weekly = service.default_schedule(rep.organization_id).weekly
    if not draft.follows_default and schedule and any(schedule.weekly):
        weekly = schedule.weekly
    switched = WeekDraft.from_weekly(draft.timezone, weekly, draft.follows_default)
    switched.notice = "Not saved yet: press Save hours."
    return switched


@bp.post("/settings/availability/reps/<uuid:user_id>/overrides")
@login_required
def override_create(user_id: uuid.UUID):
    """Add a day off or special hours on one date."""
    rep = _rep(user_id)
    form = OverrideForm()
    if not form.validate_on_submit():
        return _editor(rep, override_form=form, status=422)
    intervals = _override_intervals(rep, form)
    if intervals is None:
        return _editor(rep, override_form=form, status=422)
    service.save_override(rep, form.day.data, intervals)
    return _editor(rep, override_saved="Date override saved.")


def _override_intervals(rep: User, form: OverrideForm) -> list | None:
    """The date's hours after this addition, or None with the message on the field."""
    if form.kind.data == "off":
        return []
    start, end = parse_time(form.start.data), parse_time(form.end.data)
    if start is None or end is None:
        (form.start if start is None else form.end).errors.append("Enter a time like 09:00.")
        return None
    existing = service.override_on(rep, form.day.data)
    others = existing.intervals if existing else []
    error = interval_error(start, end, others)
    if error:
        form.end.errors.append(error)
        return None
    return sorted([*others, [start, end]])


@bp.post("/settings/availability/reps/<uuid:user_id>/overrides/<uuid:override_id>/delete")
@login_required
def override_delete(user_id: uuid.UUID, override_id: uuid.UUID):
    """Remove a date override: the weekly hours apply again that day."""
    rep = _rep(user_id)
    override = org_get_or_404(DateOverride, override_id)
    if override.user_id != rep.id:
        abort(404)
    service.delete_override(override)
    if not is_htmx():
        return redirect(url_for("availability.index", user_id=rep.id), 303)
    return _editor(rep, override_saved="Date override removed.")


@bp.get("/settings/availability/default")
@admin_required
def default_index():
    """The team's default hours, which every rep who has not customized theirs follows."""
    default = service.default_schedule(current_user.organization_id)
    draft = WeekDraft.from_weekly(default.timezone, default.weekly)
    return render("availability/default.html", "availability/_default_editor.html",
                  draft=draft, days=DAYS, timezones=sorted(service.TIMEZONES))


@bp.post("/settings/availability/default")
@admin_required
def default_update():
    """Edit or save the team's default hours."""
    draft = WeekDraft.from_form(request.form)
    op = request.form.get("op", "save")
    status, saved = 200, ""
    if op != "save":
        apply_op(draft, op, request.form)
    elif not validate(draft):
        status = 422
    else:
        service.save_default(current_user.organization_id, draft.timezone, draft.weekly())
        saved = "Default hours saved. Reps who follow them use them now."
    return render("availability/default.html", "availability/_default_editor.html", status=status,
                  draft=draft, days=DAYS, timezones=sorted(service.TIMEZONES), saved=saved)


def _fragment_or_back(partial: str, fallback: str):
    """These answer htmx with a fragment; without JavaScript they send you back where you were."""
    if not is_htmx():
        return redirect(request.referrer or url_for(fallback), 303)
    response = make_response(render_template(partial))
    response.vary.add("HX-Request")
    return response


@bp.post("/availability/toggle")
@login_required
def toggle():
    """Switch your own Available on or off."""
    wanted = request.form.get("available")
    service.set_available(current_user, wanted == "1" if wanted in ("0", "1") else not current_user.available)
    response = _fragment_or_back("_topbar_status.html", "dashboard.index")
    response.headers["HX-Trigger"] = "availability-changed"  # the home panel refreshes itself
    return response


def polled(view):
    """A fragment that polls: once the session ends, stop polling (286) instead of swapping the
    login page into the header."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated and is_htmx():
            return "", 286
        return login_required(view)(*args, **kwargs)

    return wrapped


@bp.get("/availability/toggle")
@polled
def toggle_show():
    """The header switch alone: it polls this so the words follow the clock (hours ending...)."""
    return _fragment_or_back("_topbar_status.html", "dashboard.index")


def _team_status(viewing: bool = False):
    now = service.utcnow()
    pairs = service.statuses(current_user.organization_id, now, viewer=current_user.id if viewing else None)
    org = org_availability([s for _, s in pairs])
    rows = [(f, s, describe.reason(f, s, now)) for f, s in pairs]
    return now, pairs, org, rows


@bp.get("/settings/availability/status")
@admin_required
def status():
    """Who can take a call now, why not, and whether each site's badge shows."""
    now, pairs, org, rows = _team_status(viewing=_viewing())
    tz = next(f.timezone for f, _ in pairs if f.user_id == current_user.id)  # the admin's own
    sites = [(s, settings_for(s)) for s in org_list(Site, Site.domain)]
    badges = [(s, w, describe.badge(w, org, tz, now)) for s, w in sites]
    syncs = service.last_syncs([f.user_id for f, _ in pairs])
    next_at = describe.when(org.next_at, tz, now) + f" ({tz})" if org.next_at else None
    failed_calls = failed_to_connect(current_user.organization_id)
    from app.routing import team_rules  # the routing test below the status (its own fragment)

    return render("availability/status.html", "availability/_status.html", rows=rows, org=org,
                  badges=badges, syncs=syncs, summary=describe.summary(pairs), next_at=next_at,
                  failed_calls=failed_calls, refused=refusals.counts_last_day(current_user.organization_id),
                  routing_test=True, sites=[s for s, _ in sites],
                  questions=team_rules.org_questions(current_user.organization_id))


@bp.post("/settings/availability/pause")
@admin_required
def pause():
    """Pause or resume incoming calls on every site of the organization."""
    service.pause_all(org_list(Site, Site.domain), request.form.get("paused") == "1")
    return status() if is_htmx() else redirect(url_for("availability.status"), 303)


@bp.get("/availability/home")
@polled
def home():
    """The dashboard home's panel: your status, and for admins the whole team's."""
    return _fragment_or_back("availability/_home.html", "dashboard.index")


@bp.app_context_processor
def availability_helpers():
    """The header switch and the home panel are on pages other features render."""
    return {"my_availability": my_availability, "team_availability": team_availability}


def _viewing() -> bool:
    """A full dashboard page is loading: it opens the rep's socket, so they count as online. An
    htmx refresh comes from a page whose socket is (or is not) already open: presence decides,
    and the page refreshes these when its socket connects or drops (calls.js)."""
    return not is_htmx()


def my_availability() -> describe.Toggle | None:
    if not current_user.is_authenticated:
        return None
    now = service.utcnow()
    facts, rep_status = service.status_for(current_user, now, viewing=_viewing())
    return describe.toggle(facts, rep_status, now)


def team_availability() -> dict:
    now, pairs, org, rows = _team_status(viewing=_viewing())
    mine = next(r for r in rows if r[0].user_id == current_user.id)
    return {"rows": rows, "org": org, "summary": describe.summary(pairs), "mine": mine}
