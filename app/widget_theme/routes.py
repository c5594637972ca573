import uuid

from flask import request

from app import i18n
from app.htmx import render
from app.models.widget import WidgetTheme, current_settings, current_theme, theme_for
from app.tenancy import admin_required
from app.widget.admin import draft_preview, pick_site, preview_config, save
from app.widget_theme import bp
from app.widget_theme.forms import ThemeForm

PAGE, PARTIAL = "widget_theme/index.html", "widget_theme/_form.html"


def _page(site, sites, form):
    return lambda status=200: render(PAGE, PARTIAL, status=status, site=site, sites=sites, form=form,
                                     languages=i18n.LANGUAGES)


@bp.get("/widget/theme")
@admin_required
def index():
    """Colours, font, corners, badge position and the copy of every step, with a live preview."""
    site, sites = pick_site()
    form = ThemeForm()
    if site:
        form.load(current_theme(site), copy_language(site))
    return _page(site, sites, form)()


def copy_language(site) -> str:
    """The language whose copy the page edits: ?lang=…, else the site's widget language."""
    wanted = request.args.get("lang")
    return wanted if wanted in i18n.LANGUAGES else current_settings(site).language


@bp.post("/widget/theme/<uuid:site_id>")
@admin_required
def update(site_id: uuid.UUID):
    """Save the theme and drop the widget's cached config."""
    site, sites = pick_site(site_id)
    form = ThemeForm()
    return save(site, form, lambda: form.apply(theme_for(site)), "Theme saved. Refresh your site to see it.",
                _page(site, sites, form))


@bp.post("/widget/theme/<uuid:site_id>/preview")
@admin_required
def preview(site_id: uuid.UUID):
    """The widget config with this (unsaved) theme, for the live preview."""
    site, _ = pick_site(site_id)
    form = ThemeForm()

    def config():
        draft = WidgetTheme()
        form.apply(draft)
        config = preview_config(site, theme=draft)
        # the preview speaks the language whose copy is being edited
        config["language"].update(default=form.copy_language.data, followBrowser=False)
        return config

    return draft_preview(form, config)
