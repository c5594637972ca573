"""Settings → Integrations → Webhooks: endpoints, test, roll secret, and the delivery log."""

import uuid
from datetime import timedelta

from flask import url_for
from flask_login import current_user

from app.extensions import db
from app.htmx import redirect_to, render
from app.integrations.cards import Card, register_card
from app.jobs import enqueue
from app.models import Event, Organization, Site, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.redis_store import unless_redis_down
from app.tenancy import admin_required, org_get_or_404, org_list, org_select
from app.webhooks import bp, jobs, service
from app.webhooks.forms import EndpointForm, RollSecretForm

PREFIX = "/settings/integrations/webhooks"


def _status(organization_id) -> str:
    org = db.session.get(Organization, organization_id)
    endpoints = org_list(WebhookEndpoint, WebhookEndpoint.created_at)
    active = sum(e.is_active for e in endpoints)
    stopped = sum(1 for e in endpoints if not e.is_active and e.failing_since is not None)
    if not org.webhooks_enabled:
        return "Turned off"
    status = f"{active} active endpoint{'s' if active != 1 else ''}" if active else "No active endpoint"
    # endpoints disabled while failing (a 410, five days of failures) need the admin's attention
    return status + (f" · {stopped} disabled after failures" if stopped else "")


register_card(Card("Webhooks", "Signed HTTP POSTs to your server for every call event, retried until "
                   "it answers.", "webhooks.index", _status, order=20))


def _organization() -> Organization:
    return db.session.get(Organization, current_user.organization_id)


def _sites() -> list[Site]:
    return org_list(Site, Site.domain)


def _form(**kwargs) -> EndpointForm:
    return EndpointForm(sites=_sites(), **kwargs)


def _index(form, created=None, status=200):
    return render("webhooks/index.html", "webhooks/_endpoints.html", status=status, form=form,
                  created=created, organization=_organization(), domains=_domains(),
                  endpoints=org_list(WebhookEndpoint, WebhookEndpoint.created_at.desc()))


def _domains() -> dict:
    """Site id -> domain, to name an endpoint's site filter."""
    return {str(s.id): s.domain for s in _sites()}


@bp.get(PREFIX)
@admin_required
def index():
    """The organization's endpoints and the form to add one."""
    return _index(_form())


@bp.post(PREFIX)
@admin_required
def create():
    """Add an endpoint and show its secret once."""
    form = _form()
    if form.validate_on_submit():
        try:
            endpoint, secret = service.create_endpoint(
                current_user.organization_id, form.url.data, form.events.data, "dashboard",
                form.description.data or None, form.sites.data)
        except service.InvalidWebhook as e:
            _field_error(form, e)
        else:
            return _index(_form(formdata=None), created=(endpoint, secret))
    return _index(form, status=422)


def _field_error(form, error: service.InvalidWebhook) -> None:
    getattr(form, error.field).errors.append(str(error).removeprefix("url is not allowed: "))


@bp.post(PREFIX + "/switch")
@admin_required
def switch():
    """Turn webhooks on or off for the whole organization."""
    org = _organization()
    org.webhooks_enabled = not org.webhooks_enabled
    db.session.commit()
    return redirect_to(url_for("webhooks.index"))


def _show(endpoint, status=200, edit_form=None, **extra):
    deliveries = db.session.scalars(
        org_select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.created_at.desc()).limit(50)).all()
    return render("webhooks/show.html", "webhooks/_endpoint.html", status=status, endpoint=endpoint,
                  deliveries=deliveries, roll_form=RollSecretForm(formdata=None), domains=_domains(),
                  edit_form=edit_form or _form(formdata=None, obj=endpoint), **extra)


@bp.get(PREFIX + "/<uuid:endpoint_id>")
@admin_required
def show(endpoint_id: uuid.UUID):
    """One endpoint: its settings, actions and recent deliveries."""
    return _show(org_get_or_404(WebhookEndpoint, endpoint_id))


@bp.post(PREFIX + "/<uuid:endpoint_id>")
@admin_required
def update(endpoint_id: uuid.UUID):
    """Change the URL, description, event types and sites (the same checks as the API's PATCH)."""
    endpoint = org_get_or_404(WebhookEndpoint, endpoint_id)
    form = _form()
    if form.validate_on_submit():
        try:
            service.update_endpoint(endpoint, {"url": form.url.data, "events": form.events.data,
                                               "sites": form.sites.data})
        except service.InvalidWebhook as e:
            db.session.rollback()
            _field_error(form, e)
        else:
            endpoint.description = form.description.data or None
            db.session.commit()
            return _show(endpoint, saved=True)
    return _show(endpoint, status=422, edit_form=form)


@bp.post(PREFIX + "/<uuid:endpoint_id>/test")
@admin_required
def test(endpoint_id: uuid.UUID):
    """Send a webhook.test event now and show how the endpoint answered."""
    endpoint = org_get_or_404(WebhookEndpoint, endpoint_id)
    return _show(endpoint, tested=service.send_test(endpoint))


@bp.post(PREFIX + "/<uuid:endpoint_id>/disable")
@admin_required
def disable(endpoint_id: uuid.UUID):
    """Stop sending to this endpoint."""
    service.disable(org_get_or_404(WebhookEndpoint, endpoint_id), f"Disabled by {current_user.name}.")
    return redirect_to(url_for("webhooks.show", endpoint_id=endpoint_id))


@bp.post(PREFIX + "/<uuid:endpoint_id>/enable")
@admin_required
def enable(endpoint_id: uuid.UUID):
    """Send to this endpoint again (new events; redeliver old ones from the log)."""
    service.enable(org_get_or_404(WebhookEndpoint, endpoint_id))
    return redirect_to(url_for("webhooks.show", endpoint_id=endpoint_id))


@bp.post(PREFIX + "/<uuid:endpoint_id>/roll-secret")
@admin_required
def roll_secret(endpoint_id: uuid.UUID):
    """Replace the signing secret; during the overlap both secrets sign every delivery."""
    endpoint = org_get_or_404(WebhookEndpoint, endpoint_id)
    form = RollSecretForm()
    if not form.validate_on_submit():
        return _show(endpoint, status=422)
    return _show(endpoint, new_secret=service.roll_secret(endpoint, int(form.overlap_hours.data)))


@bp.get(PREFIX + "/deliveries/<uuid:delivery_id>")
@admin_required
def delivery(delivery_id: uuid.UUID):
    """Every attempt of one delivery, with the response; polls while the delivery is owed."""
    found = org_get_or_404(WebhookDelivery, delivery_id)
    attempts = db.session.scalars(org_select(WebhookAttempt).where(WebhookAttempt.delivery_id == found.id)
                                  .order_by(WebhookAttempt.attempted_at.desc())).all()
    # refresh while an attempt is imminent (a redelivery, the first try, a short retry)
    soon = found.status == "pending" and found.next_attempt_at is not None \
        and found.next_attempt_at - utcnow() < timedelta(seconds=10)
    return render("webhooks/delivery.html", "webhooks/_delivery.html", delivery=found, attempts=attempts,
                  poll=soon)


@bp.post(PREFIX + "/deliveries/<uuid:delivery_id>/redeliver")
@admin_required
def redeliver(delivery_id: uuid.UUID):
    """Send the event again, same id, now (one attempt, made by a worker)."""
    found = org_get_or_404(WebhookDelivery, delivery_id)
    service.prepare_redelivery(found)
    with unless_redis_down("sending the redelivery now (it is owed: the sweeper sends it)"):
        enqueue(jobs.deliver, str(found.id), "manual", result_ttl=0)
    return redirect_to(url_for("webhooks.delivery", delivery_id=delivery_id))


@bp.get("/settings/integrations/events/<uuid:event_id>")
@admin_required
def event(event_id: uuid.UUID):
    """One event: its payload and its delivery to every endpoint."""
    found = org_get_or_404(Event, event_id)
    deliveries = db.session.scalars(org_select(WebhookDelivery).where(WebhookDelivery.event_id == found.id)
                                    .order_by(WebhookDelivery.created_at)).all()
    return render("webhooks/event.html", "webhooks/event.html", event=found, deliveries=deliveries,
                  payload=service.body_of(found).decode())


