import uuid

from app.htmx import render
from app.models.widget import WidgetSettings, current_settings, settings_for
from app.sites import service as site_service
from app.tenancy import admin_required
from app.widget.admin import draft_preview, pick_site, preview_config, save
from app.widget_settings import bp
from app.widget_settings.forms import WidgetSettingsForm

PAGE, PARTIAL = "widget_settings/index.html", "widget_settings/_form.html"


def _page(site, sites, form):
    return lambda status=200: render(PAGE, PARTIAL, status=status, site=site, sites=sites, form=form)


@bp.get("/widget/settings")
@admin_required
def index():
    """The settings of one site's widget (the first site, or ?site=…), with a live preview."""
    site, sites = pick_site()
    form = WidgetSettingsForm(site_domain=site.domain if site else "")
    if site:
        form.load(current_settings(site))
    return _page(site, sites, form)()


@bp.post("/widget/settings/<uuid:site_id>")
@admin_required
def update(site_id: uuid.UUID):
    """Save the settings; the widget's cached config is dropped so sites see them at once."""
    site, sites = pick_site(site_id)
    form = WidgetSettingsForm(site_domain=site.domain)

    def apply():
        settings = settings_for(site)
        before = site_service.settings_snapshot(settings)
        form.apply(settings)
        changes = site_service.settings_changes(settings, before)
        if changes:
            site_service.record(site, "site.updated", changes)

    return save(site, form, apply, "Widget settings saved. Refresh your site to see them.",
                _page(site, sites, form))


@bp.post("/widget/settings/<uuid:site_id>/preview")
@admin_required
def preview(site_id: uuid.UUID):
    """The widget config these (unsaved) values would give, for the live preview."""
    site, _ = pick_site(site_id)
    form = WidgetSettingsForm(site_domain=site.domain)

    def config():
        saved, draft = current_settings(site), WidgetSettings()
        for column in WidgetSettings.__table__.columns.keys():
            setattr(draft, column, getattr(saved, column))
        form.apply(draft)
        return preview_config(site, settings=draft)

    return draft_preview(form, config)
