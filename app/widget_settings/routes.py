import uuid

from flask import flash, jsonify

from app.extensions import db
from app.htmx import render
from app.models.widget import WidgetSettings, settings_for
from app.tenancy import admin_required
from app.widget.admin import pick_site
from app.widget.service import invalidate, site_config
from app.widget_settings import bp
from app.widget_settings.forms import WidgetSettingsForm

PAGE, PARTIAL = "widget_settings/index.html", "widget_settings/_form.html"


@bp.get("/widget/settings")
@admin_required
def index():
    """The settings of one site's widget (the first site, or ?site=…), with a live preview."""
    site, sites = pick_site()
    form = WidgetSettingsForm(site_domain=site.domain if site else "")
    if site:
        form.load(settings_for(site))
        db.session.commit()
    return render(PAGE, PARTIAL, site=site, sites=sites, form=form)


@bp.post("/widget/settings/<uuid:site_id>")
@admin_required
def update(site_id: uuid.UUID):
    """Save the settings; the widget's cached config is dropped so sites see them at once."""
    site, sites = pick_site(site_id)
    form = WidgetSettingsForm(site_domain=site.domain)
    if not form.validate_on_submit():
        return render(PAGE, PARTIAL, status=422, site=site, sites=sites, form=form)
    form.apply(settings_for(site))
    db.session.commit()
    invalidate(site)
    flash("Widget settings saved. Refresh your site to see them.")
    return render(PAGE, PARTIAL, site=site, sites=sites, form=form)


@bp.post("/widget/settings/<uuid:site_id>/preview")
@admin_required
def preview(site_id: uuid.UUID):
    """The widget config these (unsaved) values would give, for the live preview."""
    site, _ = pick_site(site_id)
    form = WidgetSettingsForm(site_domain=site.domain)
    if not form.validate():
        return jsonify({"errors": form.errors}), 422
    draft = WidgetSettings()
    saved = settings_for(site)
    for column in WidgetSettings.__table__.columns.keys():
        setattr(draft, column, getattr(saved, column))
    form.apply(draft)
    config = preview_config(site, settings=draft)
    db.session.rollback()
    return jsonify(config)


def preview_config(site, **drafts) -> dict:
    config = site_config(site, with_rules=True, **drafts)
    settings = drafts.get("settings") or settings_for(site)
    return {**config, "preview": True, "show": True,
            "availability": {"available": True, "nextAvailableAt": None},
            "previewHideWhenUnavailable": settings.hide_when_unavailable}
