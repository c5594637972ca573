import sqlalchemy as sa
from flask import abort, current_app, render_template

from app.cli import DEMO_DOMAIN
from app.demo import bp
from app.extensions import db
from app.models import Site


@bp.get("/demo")
def index():
    """A customer page carrying the demo site's widget: open it on http://localhost:PORT/demo."""
    if not current_app.config["DEMO_PAGE"]:
        abort(404)
    site = db.session.scalar(sa.select(Site).where(Site.domain == DEMO_DOMAIN).order_by(Site.created_at))
    if site is None:
        abort(404)
    return render_template("demo/index.html", site=site)
