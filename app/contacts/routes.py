from flask import render_template, request
from flask_login import login_required

from app.calls.service import answer_lines, place
from app.contacts import bp, service
from app.htmx import render
from app.models import Contact
from app.pager import newest_first
from app.tenancy import org_get_or_404, org_select

PER_PAGE = 25


@bp.get("/contacts")
@login_required
def index():
    """Everyone who called, most recently seen first; search by name, email or phone."""
    q = request.args.get("q", "").strip()[:service.MAX_SEARCH]
    page = newest_first(service.matching(org_select(Contact), q), Contact.last_seen_at, Contact.id,
                        request.args, PER_PAGE)
    return render("contacts/index.html", "contacts/_list.html", contacts=page, q=q, place=place)


@bp.get("/contacts/<uuid:contact_id>")
@login_required
def show(contact_id):
    """A contact: who they are, where from, and every call they made."""
    contact = org_get_or_404(Contact, contact_id)
    return render_template("contacts/show.html", contact=contact, place=place, answer_lines=answer_lines)
