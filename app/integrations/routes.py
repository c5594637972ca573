import uuid

from flask import abort, url_for
from flask_login import current_user, login_required

from app.api.auth import create_key, revoke
from app.extensions import db
from app.htmx import redirect_to, render
from app.integrations import bp
from app.integrations.cards import Card, cards, register_card
from app.integrations.forms import ApiKeyForm, PersonalTokenForm
from app.integrations.service import calendar_status, card_status, zapier_status
from app.models import ApiKey, User
from app.tenancy import admin_required, org_get_or_404, org_list, org_select


def _key_status(organization_id) -> str:
    active = [k for k in org_list(ApiKey, ApiKey.created_at) if k.is_active]
    return f"{len(active)} active key{'s' if len(active) != 1 else ''}" if active else "No key yet"


register_card(Card("API Keys", "Keys for the REST API and Zapier. Each key has scopes and can be revoked.",
                   "integrations.api_keys", _key_status, order=10))


@bp.get("/settings/integrations")
@admin_required
def index():
    """Every integration, one card each."""
    return render("integrations/index.html", "integrations/_cards.html",
                  cards=[(c, c.status(current_user.organization_id)) for c in cards()])


def _keys_page(form, new_key=None, status=200):
    """The organization's keys, and its teammates' personal tokens (an admin can revoke those too)."""
    owners = {u.id: u.name for u in org_list(User, User.name)}
    return render("integrations/api_keys.html", "integrations/_api_keys.html", status=status,
                  keys=org_list(ApiKey, ApiKey.created_at.desc()), form=form, new_key=new_key, noun="key",
                  create_url=url_for("integrations.api_keys_create"), revoke="integrations.api_keys_revoke",
                  owners=owners)


@bp.get("/settings/integrations/api-keys")
@admin_required
def api_keys():
    """List the organization's API keys and the form to create one."""
    return _keys_page(ApiKeyForm())


@bp.post("/settings/integrations/api-keys")
@admin_required
def api_keys_create():
    """Create a key and show it once."""
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _keys_page(form, status=422)
    key, raw = create_key(current_user.organization_id, form.name.data, form.scopes.data, current_user.id)
    return _keys_page(ApiKeyForm(formdata=None), new_key=(key, raw))


@bp.post("/settings/integrations/api-keys/<uuid:key_id>/revoke")
@admin_required
def api_keys_revoke(key_id: uuid.UUID):
    """Revoke a key: requests with it get 401 at once."""
    revoke(org_get_or_404(ApiKey, key_id))
    return redirect_to(url_for("integrations.api_keys"))


# --- personal tokens: every teammate's own, acting as them (Account → Personal tokens) -------------

def _my_tokens():
    return db.session.scalars(org_select(ApiKey).where(ApiKey.user_id == current_user.id)
                              .order_by(ApiKey.created_at.desc())).all()


def _tokens_page(form, new_key=None, status=200):
    return render("integrations/tokens.html", "integrations/_api_keys.html", status=status, keys=_my_tokens(),
                  form=form, new_key=new_key, noun="token", create_url=url_for("integrations.tokens_create"),
                  revoke="integrations.tokens_revoke", owners={})


@bp.get("/account/tokens")
@login_required
def tokens():
    """Your personal tokens and the form to create one (scopes your role allows)."""
    return _tokens_page(PersonalTokenForm(current_user.role))


@bp.post("/account/tokens")
@login_required
def tokens_create():
    """Create a personal token and show it once, with its scopes."""
    form = PersonalTokenForm(current_user.role)
    if not form.validate_on_submit():
        return _tokens_page(form, status=422)
    key, raw = create_key(current_user.organization_id, form.name.data, form.scopes.data, current_user.id,
                          user_id=current_user.id)
    return _tokens_page(PersonalTokenForm(current_user.role, formdata=None), new_key=(key, raw))


@bp.post("/account/tokens/<uuid:key_id>/revoke")
@login_required
def tokens_revoke(key_id: uuid.UUID):
    """Revoke one of your tokens (another teammate's is a 404 here; admins use API Keys)."""
    key = org_get_or_404(ApiKey, key_id)
    if key.user_id != current_user.id:
        abort(404)
    revoke(key)
    return redirect_to(url_for("integrations.tokens"))


register_card(Card("Google Calendar", "Your calendar's Busy events block your availability "
                   "(each rep connects their own).", "integrations.google_calendar", calendar_status,
                   order=20))
register_card(Card("Slack", "Incoming, missed and ended calls and transcripts, posted to a channel.",
                   "integrations.slack_page", card_status("slack"), order=30))
register_card(Card("Discord", "The same call notifications, as embeds in a Discord channel.",
                   "integrations.discord_page", card_status("discord"), order=40))
register_card(Card("Lead push", "POST each lead (name, email, conversation) to your endpoint "
                   "with basic auth.",
                   "integrations.lead_push_page", card_status("lead_push"), order=50))
register_card(Card("Zapier", "Call Ended, Call Recording Ready and Call Transcript Ready triggers "
                   "for your Zaps.",
                   "integrations.zapier_page", zapier_status, order=60))
