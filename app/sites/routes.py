import uuid

from flask import current_app, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.htmx import redirect_to, render
from app.models import Site
from app.sites import bp
from app.sites.forms import SiteForm
from app.sites.service import DuplicateSite, InvalidDomain, create_site
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
    return render("sites/show.html", "sites/_snippets.html", site=site, base_url=public_base_url())


@bp.post("/sites/<uuid:site_id>/delete")
@admin_required
def delete(site_id: uuid.UUID):
    """Delete a site (the page asks for confirmation first)."""
    site = org_get_or_404(Site, site_id)
    db.session.delete(site)
    db.session.commit()
    return redirect(url_for("sites.index"), 303)
