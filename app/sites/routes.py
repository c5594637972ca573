import uuid

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.htmx import redirect_to, render
from app.models import Site
from app.models.widget import current_settings, settings_for
from app.sites import bp, seen
from app.sites.forms import SiteForm
from app.sites.service import DuplicateSite, InvalidDomain, create_site, delete_site, normalize_domain
from app.tenancy import admin_required, org_get_or_404, org_list


def public_base_url() -> str:
    """Where visitors' browsers reach this server: BASE_URL, else the URL of this request."""
    return current_app.config["BASE_URL"] or request.host_url.rstrip("/")


@bp.get("/sites")
@admin_required
def index():
    """List the organization's sites and the form to add one."""
    return render("sites/index.html", "sites/_list.html",
                  sites=org_list(Site, Site.created_at), form=SiteForm())


@bp.post("/sites")
@admin_required
def create():
    """Add a site; the domain is normalized and checked."""
    form = SiteForm()
    if form.validate_on_submit():
        try:
            site = create_site(current_user.organization_id, form.domain.data)
        except (InvalidDomain, DuplicateSite) as e:
            form.domain.errors.append(str(e))
        else:
            return redirect_to(url_for("sites.show", site_id=site.id))
    return render("sites/index.html", "sites/_list.html", status=422,
                  sites=org_list(Site, Site.created_at), form=form)


@bp.get("/sites/<uuid:site_id>")
@admin_required
def show(site_id: uuid.UUID):
    """A site's public key and its two install snippets."""
    site = org_get_or_404(Site, site_id)
    listed = [site.domain, *(current_settings(site).domain_aliases or [])]
    return render("sites/show.html", "sites/_snippets.html", site=site, base_url=public_base_url(),
                  unregistered=seen.recent(site.id, listed))


@bp.post("/sites/<uuid:site_id>/domains")
@admin_required
def add_domain(site_id: uuid.UUID):
    """One click from "we saw your widget load on 127.0.0.1": that host becomes one of the site's
    other domains (Widget Settings lists them), and the badge shows there on the next load."""
    from app.widget.service import invalidate
    from app.widget_settings.forms import parse_aliases

    site = org_get_or_404(Site, site_id)
    settings = settings_for(site)
    try:
        host = normalize_domain(request.form.get("domain", ""))
        aliases = [*(settings.domain_aliases or []), host]
        settings.domain_aliases = parse_aliases("\n".join(aliases), site.domain)
    except ValueError as e:  # InvalidDomain too
        db.session.rollback()
        flash(f"Not added: {e}")
    else:
        db.session.commit()
        invalidate(site)
        seen.forget(site.id, host)
        flash(f"{host} is now one of this site's domains: the badge shows there on the next page load.")
    return redirect(url_for("sites.show", site_id=site.id), 303)


@bp.post("/sites/<uuid:site_id>/delete")
@admin_required
def delete(site_id: uuid.UUID):
    """Delete a site (the page asks for confirmation first)."""
    delete_site(org_get_or_404(Site, site_id))
    return redirect(url_for("sites.index"), 303)
