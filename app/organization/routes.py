from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.availability.service import TIMEZONES
from app.extensions import db
from app.models import Organization
from app.organization import bp
from app.tenancy import admin_required


@bp.route("/settings/organization", methods=["GET", "POST"])
@admin_required
def edit():
    """The organization's name and timezone."""
    org = db.session.get(Organization, current_user.organization_id)
    errors, values = {}, {"name": org.name, "timezone": org.timezone}
    if request.method == "POST":
        values = {
            "name": request.form.get("name", "").strip(),
            "timezone": request.form.get("timezone", "").strip(),
        }
        if not values["name"] or len(values["name"]) > 120:
            errors["name"] = "Enter the organization's name (at most 120 characters)."
        if values["timezone"] not in TIMEZONES:
            errors["timezone"] = "Choose a timezone from the list, e.g. Europe/Berlin."
        if not errors:
            # a new timezone: the next analytics roll-up recuts every day in it
            org.name, org.timezone = values["name"], values["timezone"]
            db.session.commit()
            flash("Organization settings saved.", "success")
            return redirect(url_for("organization.edit"), 303)
    return render_template(
        "organization/edit.html", values=values, errors=errors, timezones=sorted(TIMEZONES)
    ), 400 if errors else 200
