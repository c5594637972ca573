"""Shared by the three admin pages (settings, theme, qualifications): which site is being edited."""

import uuid

from flask import abort, request

from app.models import Site
from app.tenancy import org_get_or_404, org_list


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
