import uuid

from flask import flash, jsonify

from app.extensions import db
from app.htmx import render
from app.models.widget import WidgetTheme, theme_for
from app.tenancy import admin_required
from app.widget.admin import pick_site
from app.widget.service import invalidate
from app.widget_settings.routes import preview_config
from app.widget_theme import bp
from app.widget_theme.forms import ThemeForm

PAGE, PARTIAL = "widget_theme/index.html", "widget_theme/_form.html"


@bp.get("/widget/theme")
@admin_required
def index():
    """Colours, font, corners, badge position and the copy of every step, with a live preview."""
    site, sites = pick_site()
    form = ThemeForm()
    if site:
        form.load(theme_for(site))
        db.session.commit()
    return render(PAGE, PARTIAL, site=site, sites=sites, form=form)


@bp.post("/widget/theme/<uuid:site_id>")
@admin_required
def update(site_id: uuid.UUID):
    """Save the theme and drop the widget's cached config."""
    site, sites = pick_site(site_id)
    form = ThemeForm()
    if not form.validate_on_submit():
        return render(PAGE, PARTIAL, status=422, site=site, sites=sites, form=form)
    form.apply(theme_for(site))
    db.session.commit()
    invalidate(site)
    flash("Theme saved. Refresh your site to see it.")
    return render(PAGE, PARTIAL, site=site, sites=sites, form=form)


@bp.post("/widget/theme/<uuid:site_id>/preview")
@admin_required
def preview(site_id: uuid.UUID):
    """The widget config with this (unsaved) theme, for the live preview."""
    site, _ = pick_site(site_id)
    form = ThemeForm()
    if not form.validate():
        return jsonify({"errors": form.errors}), 422
    draft = WidgetTheme()
    form.apply(draft)
    config = preview_config(site, theme=draft)
    db.session.rollback()
    return jsonify(config)
