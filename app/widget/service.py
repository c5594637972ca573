"""What the widget needs, built once per site and cached in Redis until an admin saves.

`site_config` is the per-site part (settings, theme, flow). `public_config` adds what depends on
the moment and the visitor (availability, country) to the cached part on every request.
"""

import hashlib
import json
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, url_for

from app.extensions import db
from app.models import Site
from app.models.widget import flow_for, settings_for, theme_for
from app.redis_store import get_redis

CACHE_PREFIX = "widget:config:"
FONTS = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif',
    "sans": 'Helvetica, Arial, "Liberation Sans", sans-serif',
    "serif": 'Georgia, Cambria, "Times New Roman", serif',
    "rounded": 'ui-rounded, "SF Pro Rounded", "Nunito", system-ui, sans-serif',
    "mono": 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
    "inherit": "inherit",
}
FONT_CHOICES = [("system", "System (the visitor's own UI font)"), ("sans", "Helvetica / Arial"),
                ("serif", "Georgia (serif)"), ("rounded", "Rounded"), ("mono", "Monospace"),
                ("inherit", "Same as my website")]


class SiteNotFound(LookupError):
    pass


def site_by_public_key(public_key: str) -> Site | None:
    return db.session.scalar(sa.select(Site).where(Site.public_key == public_key))


def allowed_domains(site: Site) -> list[str]:
    return [site.domain, *(settings_for(site).domain_aliases or [])]


def settings_json(settings) -> dict:
    return {
        "badgeLabel": settings.badge_label, "welcomeText": settings.welcome_text,
        "collectEmail": settings.collect_email, "collectPhone": settings.collect_phone,
        "openOnLoad": settings.open_on_load, "hideWhenUnavailable": settings.hide_when_unavailable,
        "paused": settings.paused, "callType": settings.call_type,
        "ringTimeoutSeconds": settings.ring_timeout_seconds,
        # off | notice (tell the visitor) | consent (ask; record only with a tick)
        "recordingPolicy": settings.recording_policy or "off",
    }


def theme_json(theme) -> dict:
    return {
        "primaryColor": theme.primary_color, "backgroundColor": theme.background_color,
        "textColor": theme.text_color, "buttonColor": theme.button_color,
        "buttonTextColor": theme.button_text_color,
        "fontFamily": FONTS.get(theme.font_family, FONTS["system"]),
        "borderRadius": theme.border_radius, "badgePosition": theme.badge_position,
        "copy": theme.copy_with_defaults(),
    }


def question_json(question, with_rules: bool = False) -> dict:
    """A question as the widget shows it; `with_rules` adds which options disqualify (preview only)."""
    data = {
        "id": str(question.id), "label": question.label, "type": question.type,
        "required": question.required, "position": question.position,
        "min": question.min_value, "max": question.max_value,
        "options": [{"label": o.label, "value": o.value} for o in question.options],
    }
    if with_rules:
        for option_json, option in zip(data["options"], question.options, strict=True):
            option_json["disqualifies"] = option.disqualifies
    return data


def flow_json(flow, with_rules: bool = False) -> dict:
    return {"id": str(flow.id), "disqualifiedAction": flow.disqualified_action,
            "questions": [question_json(q, with_rules) for q in flow.questions]}


def asset_version(filename: str) -> str:
    """A short hash of a widget source file: part of its URL, so it can be cached for a year."""
    versions = current_app.extensions.setdefault("widget_asset_versions", {})
    if filename not in versions:
        path = Path(current_app.static_folder) / "widget" / filename
        versions[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return versions[filename]


def site_config(site: Site, settings=None, theme=None, flow=None, with_rules=False) -> dict:
    """The per-site part of /widget/config; the admin pages' preview passes unsaved objects."""
    settings = settings or settings_for(site)
    theme = theme or theme_for(site)
    flow = flow or flow_for(site)
    return {
        "site": {"id": str(site.id), "domain": site.domain},
        "settings": settings_json(settings),
        "theme": theme_json(theme),
        "flow": flow_json(flow, with_rules),
        "calendarUrl": settings.calendar_url or None,
        "assets": assets(),
    }


def assets() -> dict:
    """Versioned URLs of the lazily loaded scripts (call.js comes with the calls feature)."""
    urls = {"flow": url_for("widget.flow_script", v=asset_version("flow.js"))}
    if (Path(current_app.static_folder) / "widget" / "call.js").exists():
        urls["call"] = url_for("static", filename="widget/call.js", v=asset_version("call.js"))
    return urls


def _cache_entry(site: Site) -> dict:
    settings = settings_for(site)
    return {"organizationId": str(site.organization_id), "domains": allowed_domains(site),
            "countries": settings.countries or [], "config": site_config(site)}


class LocalCache:
    """A few seconds of memory in front of Redis and the database, for the hottest public endpoint.

    Browsers already reuse /widget/config for WIDGET_CONFIG_MAX_AGE seconds, so a shorter local
    memory changes nothing a visitor can see, and spares every request a network round trip.
    A save drops the entry here at once; other processes see it within WIDGET_LOCAL_CACHE_SECONDS.
    """

    MAX_ENTRIES = 10000

    def __init__(self):
        self._entries: dict = {}

    def get(self, key, build, until=None):
        """The remembered value, else `build()`'s; `until(value)`: the Unix time it must be
        forgotten by at the latest (an answer that changes by itself then)."""
        ttl = current_app.config["WIDGET_LOCAL_CACHE_SECONDS"]
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = build()
        if until is not None:
            ttl = min(ttl, until(value) - time.time())
        if ttl > 0 and value is not None:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()  # bounded memory: simply start afresh
            self._entries[key] = (now + ttl, value)
        return value

    def drop(self, key) -> None:
        self._entries.pop(key, None)


def local_cache() -> LocalCache:
    return current_app.extensions.setdefault("widget_local_cache", LocalCache())


def cached_entry(public_key: str) -> dict | None:
    """The per-site entry for a public key (local memory, then Redis, then the database).

    It carries the config already serialized (`configJson`, without its braces) and its digest,
    so a request only adds the parts that depend on the moment and the visitor.
    """
    return local_cache().get(("entry", public_key), lambda: _prepared(_redis_entry(public_key)))


def _prepared(entry: dict | None) -> dict | None:
    if entry is None:
        return None
    text = json.dumps(entry["config"], separators=(",", ":"))
    return {**entry, "configJson": text[1:-1], "digest": hashlib.sha256(text.encode()).hexdigest()[:20]}


def available_now(organization_id: str) -> dict:
    """/widget/config's `availability` ({"available", "nextAvailableAt"}) from the availability
    service, remembered for a moment per organization in this process, and never past the moment
    it could change by itself (a rep's hours ending)."""
    from app.availability.service import widget_availability_until

    return local_cache().get(("available", str(organization_id)),
                             lambda: widget_availability_until(uuid.UUID(str(organization_id))),
                             until=lambda pair: pair[1])[0]


def forget_availability(organization_id) -> None:
    """Availability changed (availability.service.invalidate): this process stops remembering it."""
    local_cache().drop(("available", str(organization_id)))


def _redis_entry(public_key: str) -> dict | None:
    redis = get_redis()
    raw = redis.get(CACHE_PREFIX + public_key)
    if raw is not None:
        return json.loads(raw)
    site = site_by_public_key(public_key)
    if site is None:
        return None
    entry = _cache_entry(site)
    db.session.commit()  # the defaults settings_for/theme_for may have created
    ttl = current_app.config["WIDGET_CONFIG_CACHE_SECONDS"]
    redis.set(CACHE_PREFIX + public_key, json.dumps(entry), ex=ttl)
    return entry


def invalidate(site: Site) -> None:
    """Forget the cached config after an admin saves; the next request rebuilds it."""
    get_redis().delete(CACHE_PREFIX + site.public_key)
    local_cache().drop(("entry", site.public_key))


def country_allowed(countries: list[str], country: str | None) -> bool:
    """Empty list = everywhere; an unknown country is shown the badge."""
    return not countries or country is None or country.upper() in countries


@sa.event.listens_for(Site, "after_delete")
def _forget_deleted_site(mapper, connection, site) -> None:
    # a deleted site's badge must stop at once, not when the cache entry expires
    invalidate(site)
