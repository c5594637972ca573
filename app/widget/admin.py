"""Shared by the three admin pages (settings, theme, qualifications): which site is being edited,
how a save goes and what the live preview shows."""

import uuid

from flask import abort, flash, jsonify, request

from app.extensions import db
from app.models import Site
from app.models.widget import current_flow, current_settings, current_theme
from app.tenancy import org_get_or_404, org_list
from app.widget.service import invalidate, site_config


def pick_site(site_id=None) -> tuple[Site | None, list[Site]]:
    """The site named in the URL (?site=… or the route), else the organization's first site."""
    sites = org_list(Site, Site.created_at)
    wanted = site_id or request.args.get("site")
    if wanted:
        try:
            wanted = uuid.UUID(str(wanted))
        except ValueError:
            abort(404)
        return org_get_or_404(Site, wanted), sites
    return (sites[0] if sites else None), sites


def save(site, form, apply, message: str, page):
    """A page's POST: when `form` validates, `apply()` it to the site's rows and `saved`; else
    `page(422)` shows the form with its errors."""
    if not form.validate_on_submit():
        return page(422)
    apply()
    return saved(site, message, page)


def saved(site, message: str | None, page):
    """Commit, drop the widget's cached config (the next load of the site sees the change), say so
    and re-render with `page(200)`."""
    db.session.commit()
    invalidate(site)
    if message:
        flash(message)
    return page(200)


def draft_preview(form, config):
    """The preview of unsaved values: `config()` once `form` validates (nothing it touched is saved)."""
    if not form.validate():
        return jsonify({"errors": form.errors}), 422
    body = config()
    db.session.rollback()
    return jsonify(body)


def preview_config(site, **drafts) -> dict:
    """The widget config the preview shows, with unsaved `drafts` (settings, theme, flow) in place of
    the saved rows; always shown, as if someone were available."""
    rows = {"settings": current_settings(site), "theme": current_theme(site), "flow": current_flow(site),
            **drafts}
    config = site_config(site, with_rules=True, **rows)
    return {**config, "preview": True, "show": True,
            "availability": {"available": True, "nextAvailableAt": None},
            "previewHideWhenUnavailable": rows["settings"].hide_when_unavailable}
