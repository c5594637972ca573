"""Custom Scripts: saving scripts as versions, rolling back, the audit log, the kill switch, and
which scripts a dashboard page or a site's widget runs.

A version is immutable: its file is served at a URL carrying its content hash and cached for a year,
so a save or a rollback is a new version (a rollback copies an older one's content), and the
history only grows.
"""

import base64
import hashlib
import uuid
from collections import OrderedDict

import sqlalchemy as sa
from flask import current_app, url_for

from app.extensions import db
from app.models import Site
from app.models.base import utcnow
from app.models.custom_scripts import (
    CustomScript,
    CustomScriptAudit,
    CustomScriptLog,
    CustomScriptSettings,
    CustomScriptVersion,
)
from app.redis_store import get_redis, unless_redis_down

# Dashboard pages a script may run on: name -> (endpoint, label). Admin configuration pages (and
# this page above all) are left out on purpose: a broken script can never lock an admin out of
# the page that turns it off.
DASHBOARD_PAGES = OrderedDict(
    [
        ("home", ("dashboard.index", "Home")),
        ("calls", ("calls.index", "Calls list")),
        ("call", ("calls.live", "On a call (the call screen)")),
        ("call_detail", ("calls.show", "A call's details")),
        ("callbacks", ("callbacks.index", "Callbacks list")),
        ("callback", ("callbacks.show", "A callback's details")),
        ("contacts", ("contacts.index", "Contacts list")),
        ("contact", ("contacts.show", "A contact's details")),
        ("availability", ("availability.index", "Availability")),
    ]
)
PAGE_OF_ENDPOINT = {endpoint: name for name, (endpoint, _label) in DASHBOARD_PAGES.items()}

# The widget's steps, in the order a visitor meets them.
WIDGET_STEPS = OrderedDict(
    [
        ("welcome", "Welcome"),
        ("question", "A qualification question"),
        ("contact", "Contact details"),
        ("ready", "Ready to call"),
        ("call", "In the call (ringing, talking)"),
        ("ended", "Call ended"),
        ("details", "Leave your details"),
        ("unavailable", "Nobody available"),
        ("disqualified", "Not a fit (disqualified message)"),
    ]
)

MAX_CONTENT = 100_000
LOG_KEEP = 200  # lines kept per script


class ScriptError(ValueError):
    """Bad input for a script: the message is shown next to `field`."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# --- saving ---------------------------------------------------------------------------------------


def check_content(kind: str, content: str) -> None:
    if not content.strip():
        raise ScriptError("content", "Write the script's code.")
    if len(content) > MAX_CONTENT:
        raise ScriptError("content", f"A script may be at most {MAX_CONTENT // 1000} KB.")
    if kind == "js" and "export default" not in content:
        raise ScriptError(
            "content",
            "A JavaScript script is a module: export default function (ctx) { …; return teardown; }",
        )


def _author(user) -> str:
    return f"{user.name} <{user.email}>" if user else ""


def audit(org_id, user, action: str, script: CustomScript | None = None, detail: str = "") -> None:
    db.session.add(
        CustomScriptAudit(
            organization_id=org_id,
            script_id=script.id if script else None,
            script_name=script.name if script else "",
            user_id=user.id if user else None,
            user_name=_author(user),
            action=action,
            detail=detail[:500],
        )
    )


def _add_version(script: CustomScript, user, content: str, note: str) -> CustomScriptVersion:
    number = max((v.number for v in script.versions), default=0) + 1
    version = CustomScriptVersion(
        organization_id=script.organization_id,
        number=number,
        content=content,
        sha256=CustomScriptVersion.digest(content),
        note=note[:200],
        author_name=_author(user),
    )
    script.versions.append(version)
    script.version = number
    return version


def create_script(
    org_id, user, *, name, surface, kind, screens, site_ids, enabled, content, note=""
) -> CustomScript:
    check_content(kind, content)
    script = CustomScript(
        organization_id=org_id,
        name=name,
        surface=surface,
        kind=kind,
        screens=list(screens),
        site_ids=[str(s) for s in site_ids],
        enabled=enabled,
    )
    db.session.add(script)
    _add_version(script, user, content, note or "Created")
    db.session.flush()
    audit(org_id, user, "created", script, f"{surface} {kind.upper()}, version 1")
    _saved(script)
    return script


def update_script(
    script: CustomScript, user, *, name, screens, site_ids, enabled, content, note=""
) -> list[str]:
    """Save the form; new content is a new version. Returns what changed (for the audit log)."""
    check_content(script.kind, content)
    changes = []
    if name != script.name:
        changes.append(f"renamed from “{script.name}”")
        script.name = name
    if list(screens) != list(script.screens or []) or [str(s) for s in site_ids] != list(
        script.site_ids or []
    ):
        changes.append("where it runs")
        script.screens, script.site_ids = list(screens), [str(s) for s in site_ids]
    if enabled != script.enabled:
        changes.append("enabled" if enabled else "disabled")
        script.enabled = enabled
    if content != script.current.content:
        version = _add_version(script, user, content, note or "Edited")
        changes.append(f"code: version {version.number}")
    if changes:
        audit(script.organization_id, user, "updated", script, "; ".join(changes))
        _saved(script)
    return changes


def set_enabled(script: CustomScript, user, enabled: bool) -> None:
    if script.enabled != enabled:
        script.enabled = enabled
        audit(script.organization_id, user, "enabled" if enabled else "disabled", script)
        _saved(script)


def rollback(script: CustomScript, user, number: int) -> CustomScriptVersion:
    """Run an older version again: its content becomes a new version (the history only grows)."""
    old = next((v for v in script.versions if v.number == number), None)
    if old is None:
        raise ScriptError("version", "That version does not exist.")
    if old.number == script.version:
        raise ScriptError("version", f"Version {number} is already the one that runs.")
    version = _add_version(script, user, old.content, f"Rollback to version {number}")
    audit(
        script.organization_id,
        user,
        "rolled back",
        script,
        f"to version {number} (now version {version.number})",
    )
    _saved(script)
    return version


def delete_script(script: CustomScript, user) -> None:
    audit(
        script.organization_id,
        user,
        "deleted",
        script,
        f"{script.surface} {script.kind.upper()}, {len(script.versions)} version(s)",
    )
    db.session.delete(script)
    _saved(script)


def reset_errors(script: CustomScript, user) -> None:
    script.error_count, script.last_error, script.last_error_at = 0, None, None
    audit(script.organization_id, user, "errors reset", script)
    db.session.commit()


def _saved(script: CustomScript) -> None:
    db.session.commit()
    if script.surface == "widget":
        forget_widget_configs(script.organization_id)


# --- the kill switch ------------------------------------------------------------------------------


def scripts_disabled(org_id) -> bool:
    row = db.session.get(CustomScriptSettings, org_id)
    return bool(row and row.disabled)


def set_kill_switch(org_id, user, disabled: bool) -> None:
    row = db.session.get(CustomScriptSettings, org_id) or CustomScriptSettings(organization_id=org_id)
    if bool(row.disabled) == disabled:
        return
    row.disabled = disabled
    db.session.add(row)
    audit(
        org_id,
        user,
        "kill switch on" if disabled else "kill switch off",
        None,
        "every script stopped" if disabled else "scripts run again",
    )
    db.session.commit()
    forget_widget_configs(org_id)


def forget_widget_configs(org_id) -> None:
    """The widget's cached configs carry the scripts: every site of the org rebuilds its own."""
    from app.widget.service import invalidate

    for site in db.session.scalars(sa.select(Site).where(Site.organization_id == org_id)):
        invalidate(site)


# --- what runs where ------------------------------------------------------------------------------


def file_url(script: CustomScript, version: CustomScriptVersion) -> str:
    return url_for(
        "custom_script_files.file", version_id=version.id, digest=version.sha256[:20], ext=script.kind
    )


def sri(version: CustomScriptVersion) -> str:
    """The integrity value (and CSP hash source) of a version's file."""
    return "sha256-" + base64.b64encode(hashlib.sha256(version.content.encode()).digest()).decode()


def _runnable(org_id, surface: str) -> list[CustomScript]:
    if scripts_disabled(org_id):
        return []
    return list(
        db.session.scalars(
            sa.select(CustomScript)
            .where(
                CustomScript.organization_id == org_id,
                CustomScript.surface == surface,
                CustomScript.enabled.is_(True),
            )
            .order_by(CustomScript.created_at)
        )
    )


def _for_site(script: CustomScript, site_id) -> bool:
    if not script.site_ids:
        return True
    return site_id is not None and str(site_id) in script.site_ids


def dashboard_scripts(org_id, endpoint: str | None, site_id=None) -> list[CustomScript]:
    """The scripts a dashboard page runs: that page among its pages, and its site (when it shows one)."""
    page = PAGE_OF_ENDPOINT.get(endpoint or "")
    if page is None:
        return []
    return [
        s
        for s in _runnable(org_id, "dashboard")
        if (not s.screens or page in s.screens) and _for_site(s, site_id)
    ]


def script_json(script: CustomScript) -> dict:
    version = script.current
    return {
        "id": str(script.id),
        "name": script.name,
        "type": script.kind,
        "version": version.number,
        "url": file_url(script, version),
        "integrity": sri(version),
        "screens": list(script.screens or []),
    }


def widget_config(site: Site) -> dict | None:
    """/widget/config's `customScripts`: the runtime's URL and this site's scripts; None when none run."""
    scripts = widget_scripts(site)
    if not scripts:
        return None
    from app.widget.service import asset_version

    # relative URLs, like the widget's other assets: the loader resolves them against its own
    return {
        "runtime": url_for("custom_script_files.runtime", v=asset_version("custom_scripts.js")),
        "scripts": scripts,
    }


def widget_scripts(site: Site) -> list[dict]:
    """The scripts of this site's widget, for /widget/config (steps are matched in the browser)."""
    return [script_json(s) for s in _runnable(site.organization_id, "widget") if _for_site(s, site.id)]


# --- what browsers report -------------------------------------------------------------------------


def _within_rate(script_id) -> bool:
    key = f"custom-scripts:reports:{script_id}:{int(utcnow().timestamp() // 60)}"
    count = 1
    with unless_redis_down("counting custom script reports"):
        pipe = get_redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count = pipe.execute()[0]
    return count <= current_app.config["CUSTOM_SCRIPT_REPORTS_PER_MINUTE"]


def record_report(
    script: CustomScript, level: str, message: str, screen: str = "", version: int | None = None
) -> bool:
    """Keep a ctx.log() line or a caught error; False when over the script's rate (dropped)."""
    if not _within_rate(script.id):
        return False
    level = "error" if level == "error" else "warn" if level == "warn" else "info"
    message = (message or "")[:500]
    db.session.add(
        CustomScriptLog(
            organization_id=script.organization_id,
            script_id=script.id,
            level=level,
            message=message,
            screen=(screen or "")[:40],
            version=version,
        )
    )
    if level == "error":
        # counted in SQL: two browsers reporting at once both count
        db.session.execute(
            sa.update(CustomScript)
            .where(CustomScript.id == script.id)
            .values(error_count=CustomScript.error_count + 1, last_error=message, last_error_at=utcnow())
        )
    db.session.commit()
    _prune(script.id)
    return True


def record_posted(script: CustomScript, body: dict) -> bool:
    """A report as a browser posted it: {level, message, screen, version}."""
    version = body.get("version")
    return record_report(
        script,
        str(body.get("level") or "info"),
        str(body.get("message") or ""),
        str(body.get("screen") or ""),
        version if isinstance(version, int) else None,
    )


def _prune(script_id) -> None:
    keep = (
        sa.select(CustomScriptLog.id)
        .where(CustomScriptLog.script_id == script_id)
        .order_by(CustomScriptLog.created_at.desc())
        .limit(LOG_KEEP)
    )
    db.session.execute(
        sa.delete(CustomScriptLog).where(
            CustomScriptLog.script_id == script_id, CustomScriptLog.id.not_in(keep)
        )
    )
    db.session.commit()


def recent_logs(script: CustomScript, limit: int = 50) -> list[CustomScriptLog]:
    return list(
        db.session.scalars(
            sa.select(CustomScriptLog)
            .where(CustomScriptLog.script_id == script.id)
            .order_by(CustomScriptLog.created_at.desc())
            .limit(limit)
        )
    )


def audit_log(org_id, script_id=None, limit: int = 50) -> list[CustomScriptAudit]:
    query = sa.select(CustomScriptAudit).where(CustomScriptAudit.organization_id == org_id)
    if script_id is not None:
        query = query.where(CustomScriptAudit.script_id == script_id)
    return list(db.session.scalars(query.order_by(CustomScriptAudit.created_at.desc()).limit(limit)))


def script_by_id(org_id, script_id) -> CustomScript | None:
    try:
        script_id = uuid.UUID(str(script_id))
    except ValueError:
        return None
    return db.session.scalar(
        sa.select(CustomScript).where(CustomScript.id == script_id, CustomScript.organization_id == org_id)
    )
