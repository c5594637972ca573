"""Teammates: list, invite, change role, remove (personal tokens act as their user)."""

from flask import current_app, jsonify, url_for

from app.api import bp
from app.api.auth import require_api_key
from app.api.errors import ApiError
from app.api.v1.common import PREFIX, acting_user_id, json_body, list_response, org_object_or_404, paged
from app.events import iso
from app.extensions import db
from app.models import ROLES, User
from app.owed_mail import owe
from app.team import service
from app.tenancy import current_organization_id, org_select


def _actor() -> User | None:
    user_id = acting_user_id()
    return db.session.get(User, user_id) if user_id else None


@bp.get(PREFIX + "/teammates")
@require_api_key("teammates:read")
def teammates_list():
    """Teammates, in the order they joined."""
    rows, cursor = paged(org_select(User), User.created_at, User.id, "created_at", descending=False)
    return list_response(rows, cursor, service.teammate_json)


@bp.get(PREFIX + "/teammates/<user_id>")
@require_api_key("teammates:read")
def teammates_show(user_id):
    """One teammate."""
    return jsonify(service.teammate_json(org_object_or_404(User, user_id, "Teammate")))


def _role(data: dict) -> str:
    role = data.get("role", "rep")
    if role not in ROLES:
        raise ApiError(400, "invalid_request", f"role must be one of: {', '.join(ROLES)}.")
    return role


@bp.post(PREFIX + "/teammates/invitations")
@require_api_key("teammates:write")
def teammates_invite():
    """Invite someone by email; the answer has the link to pass on (also mailed when SMTP is set)."""
    data = json_body()
    email = data.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise ApiError(400, "invalid_request", "email is required: the address to invite.")
    try:
        invite, token = service.create_invite(_actor(), email, _role(data), current_organization_id())
    except service.TeamError as e:
        raise ApiError(409, "conflict", str(e)) from e
    link = url_for("team.join", token=token, _external=True)
    if current_app.config["SMTP_HOST"]:
        owe("invite", invite.id, link)
    return jsonify({"id": str(invite.id), "email": invite.email, "role": invite.role,
                    "expiresAt": iso(invite.expires_at), "inviteUrl": link}), 201


@bp.patch(PREFIX + "/teammates/<user_id>")
@require_api_key("teammates:write")
def teammates_update(user_id):
    """Change a teammate's role (the last admin stays an admin)."""
    member = org_object_or_404(User, user_id, "Teammate")
    try:
        service.change_role(member, _role({"role": json_body().get("role")}))
    except service.TeamError as e:
        raise ApiError(409, "conflict", str(e)) from e
    return jsonify(service.teammate_json(member))


@bp.delete(PREFIX + "/teammates/<user_id>")
@require_api_key("teammates:write")
def teammates_delete(user_id):
    """Remove a teammate; their personal tokens stop working (teammate.removed)."""
    member = org_object_or_404(User, user_id, "Teammate")
    member_id = str(member.id)
    try:
        service.remove_member(_actor(), member)
    except service.TeamError as e:
        raise ApiError(409, "conflict", str(e)) from e
    return jsonify({"id": member_id, "deleted": True})
