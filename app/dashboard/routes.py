from flask import current_app, redirect, render_template, send_from_directory, url_for
from flask_login import current_user, login_required

from app.dashboard import bp
from app.models import Site
from app.tenancy import org_list


@bp.get("/")
def root():
    """Send visitors of the bare URL to their dashboard or the login page."""
    return redirect(url_for("dashboard.index" if current_user.is_authenticated else "auth.login"))


@bp.get("/dashboard")
@login_required
def index():
    """The rep's home: getting started and what needs attention."""
    return render_template("dashboard/index.html", sites=org_list(Site, Site.created_at))


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it on their own: answer with our icon rather than a 404 in every console."""
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml",
                               max_age=86400)
