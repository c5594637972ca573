"""What the widget needs, built once per site and cached in Redis until an admin saves.

`site_config` is the per-site part (settings, theme, flow). `public_config` adds what depends on
the moment and the visitor (availability, country) to the cached part on every request.
"""

import contextlib
import functools
import hashlib
import itertools
import json
import time
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from redis.client import Pipeline
from redis.exceptions import LockError

from app import i18n
from app.extensions import db
from app.models import Site
from app.models.widget import flow_for, settings_for, theme_for
from app.redis_store import get_redis, unless_redis_down
from app.widget.local_cache import LocalCache, announce, listen

SITE_PREFIX = "widget:site:"  # a hash per site: org, meta, config, digest
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


def theme_json(theme, language: str = "en") -> dict:
    return {
        "primaryColor": theme.primary_color, "backgroundColor": theme.background_color,
        "textColor": theme.text_color, "buttonColor": theme.button_color,
        "buttonTextColor": theme.button_text_color,
        "fontFamily": FONTS.get(theme.font_family, FONTS["system"]),
        "borderRadius": theme.border_radius, "badgePosition": theme.badge_position,
        # the site's default language (the badge and the panel's title before the flow loads), and
        # the admin's own copy per language, which the flow lays over that language's catalogue
        "copy": theme.copy_with_defaults(language),
        "copyOverrides": theme.overrides(),
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
        "theme": theme_json(theme, language_json(settings)["default"]),
        "flow": flow_json(flow, with_rules),
        "calendarUrl": settings.calendar_url or None,
        "language": language_json(settings),
        "strings": loader_strings(settings, theme),
        "assets": assets(),
    }


LOADER_KEYS = {"badge": "loader.badge", "failed": "loader.failed", "loading": "loading", "close": "close"}
# the panel's title, the embed's button and its card when nobody is available, before flow.js
LOADER_COPY = ("welcomeTitle", "start", "unavailable")


def loader_strings(settings, theme) -> dict:
    """What the loader shows before flow.js (and its catalogue) arrive, per language it may pick:
    the site's language, or every language when the widget follows the visitor's browser. A badge
    label the admin left at its default is the language's own; one they wrote stays as written."""
    language = language_json(settings)
    codes = language["available"] if language["followBrowser"] else [language["default"]]
    own_badge = settings.badge_label if settings.badge_label != i18n.catalogue("en")["loader.badge"] else None
    strings = {}
    for code in codes:
        catalogue, copy = i18n.catalogue(code), theme.copy_with_defaults(code)
        strings[code] = {name: catalogue[key] for name, key in LOADER_KEYS.items()}
        strings[code].update({key: copy[key] for key in LOADER_COPY})
        if own_badge:
            strings[code]["badge"] = own_badge
    return strings


def language_json(settings) -> dict:
    """The site's default language, whether the widget follows the visitor's browser, and the
    languages it has a catalogue for."""
    return {"default": getattr(settings, "language", None) or "en",
            "followBrowser": bool(getattr(settings, "follow_browser_language", False)),
            "available": list(i18n.LANGUAGES)}


def assets() -> dict:
    """Versioned URLs of the lazily loaded scripts (cached for a year at that version), and the
    version of the language catalogues."""
    return {"flow": url_for("widget.flow_script", v=asset_version("flow.js")),
            "call": url_for("widget.call_script", v=asset_version("call.js")), "strings": i18n.version()}


def _cache_entry(site: Site) -> dict:
    """What /widget/config needs of a site, with its config already serialized (`configJson`,
    without its braces) and the config's digest: a request only adds what depends on the moment."""
    from app.custom_scripts.service import widget_config

    settings = settings_for(site)
    # the org's custom scripts for this site ride along (never in the admin pages' preview)
    text = json.dumps({**site_config(site), "customScripts": widget_config(site)}, separators=(",", ":"))
    return {"organizationId": str(site.organization_id), "siteId": str(site.id),
            "domains": allowed_domains(site), "countries": settings.countries or [],
            "paused": bool(settings.paused), "call": call_settings(site, settings), "configJson": text[1:-1],
            "digest": hashlib.sha256(text.encode()).hexdigest()[:20]}


def call_settings(site: Site, settings=None) -> dict:
    """What a call request needs of the site beyond the entry's ids and `paused` (calls.CallSite)."""
    settings = settings or settings_for(site)
    return {"domain": site.domain, "callType": settings.call_type,
            "ringTimeoutSeconds": settings.ring_timeout_seconds, "recordingPolicy": settings.recording_policy}


def local_cache() -> LocalCache:
    cache = current_app.extensions.get("widget_local_cache")
    if cache is None:
        config = current_app.config
        cache = current_app.extensions.setdefault("widget_local_cache", LocalCache(
            config["WIDGET_LOCAL_CACHE_ENTRIES"], config["WIDGET_LOCAL_CACHE_SECONDS"]))
    return cache


def serving_cache() -> LocalCache:
    """local_cache, kept in step with the other processes' changes (only where it serves visitors:
    a worker's job only drops entries, and needs no listener)."""
    cache = local_cache()
    if cache.listener is None:
        cache.preload = functools.partial(_preload, current_app._get_current_object())
        listen(cache, current_app.config["REDIS_URL"])
    return cache


def _preload(app, cache: LocalCache) -> None:
    """Fill this process's memory with what Redis holds (every site's entry, every organization's
    answer), up to its size: a process that starts, or reconnects, serves warm sites without a
    round trip each, as `warm` spares visitors the database."""
    from app.availability.service import stored_answers

    with app.app_context(), unless_redis_down("preloading the widget config cache"):
        organizations = _preload_entries(cache, app.config["WIDGET_CONFIG_CACHE_SECONDS"])
        version = cache.version()
        for organization_id, (answer, until) in stored_answers(organizations).items():
            cache.put(("available", organization_id), answer, until - time.time(), version)


def _preload_entries(cache: LocalCache, seconds: float, batch: int = 500) -> set[str]:
    """Every site entry Redis holds into `cache` (one pipeline per batch); their organizations."""
    redis, organizations = get_redis(), set()
    keys = list(itertools.islice(redis.scan_iter(match=SITE_PREFIX + "*", count=1000), cache.max_entries))
    for start in range(0, len(keys), batch):
        version, pipe = cache.version(), redis.pipeline(transaction=False)
        for key in keys[start:start + batch]:
            pipe.hmget(key, "org", "meta", "config", "digest")
        for key, reply in zip(keys[start:start + batch], pipe.execute(), strict=True):
            if reply[0]:
                entry = _entry_from(reply)
                organizations.add(entry["organizationId"])
                cache.put(("entry", key.decode()[len(SITE_PREFIX):]), entry, seconds, version)
    return organizations


# One round trip for a site's entry and its organization's cached availability. A site's key
# names its organization's keys inside the script: fine on one Redis (not a Redis Cluster).
_LOOKUP = """
local site = redis.call('HMGET', KEYS[1], 'org', 'meta', 'config', 'digest')
if not site[1] then return {} end
local prefix = 'availability:' .. site[1]
local availability = redis.call('MGET', prefix .. ':gen', prefix)
return {site[1], site[2], site[3], site[4], availability[1] or false, availability[2] or false}
"""


def _site_key(public_key: str) -> str:
    return SITE_PREFIX + public_key


def _lookup_script():
    script = current_app.extensions.get("widget_lookup_script")
    if script is None:
        script = get_redis().register_script(_LOOKUP)
        current_app.extensions["widget_lookup_script"] = script
    return script


def lookup(public_key: str) -> tuple[dict | None, dict | None]:
    """(the site's entry, its organization's availability answer) for /widget/config: from this
    process's memory, else from one Redis round trip, else (cold, or Redis down) from the database.
    (None, None) when no site has this key."""
    cache = serving_cache()
    entry = cache.peek(("entry", public_key))
    answer = cache.peek(("available", entry["organizationId"])) if entry is not None else None
    if answer is not None:
        return entry, answer
    version, reply = cache.version(), None
    with unless_redis_down("the widget config cache"):
        reply = _lookup_script()(keys=[_site_key(public_key)])
    if entry is None:
        entry = _entry_from(reply) if reply else _stored_entry(public_key)
        if entry is None:
            return None, None
        cache.put(("entry", public_key), entry, current_app.config["WIDGET_CONFIG_CACHE_SECONDS"], version)
    cached = tuple(reply[4:6]) if reply else None
    return entry, _remembered_availability(entry["organizationId"], cached, version)


def site_entry(public_key: str) -> dict | None:
    """The site's cached entry (what `_cache_entry` holds) without its organization's availability:
    from this process's memory, else from Redis (then remembered here). None when neither holds it
    (a call request then reads the site's rows: building a whole entry is /widget/config's work)."""
    cache = serving_cache()
    entry = cache.peek(("entry", public_key))
    if entry is None:
        version, reply = cache.version(), None
        with unless_redis_down("the widget config cache"):
            reply = get_redis().hmget(_site_key(public_key), "org", "meta", "config", "digest")
        if not reply or not reply[0]:
            return None
        entry = _entry_from(reply)
        cache.put(("entry", public_key), entry, current_app.config["WIDGET_CONFIG_CACHE_SECONDS"], version)
    return entry if "call" in entry else None  # an entry an earlier version stored lacks it


def _entry_from(reply: list) -> dict:
    org, meta, config, digest = (part.decode() for part in reply[:4])
    return {"organizationId": org, **json.loads(meta), "configJson": config, "digest": digest}


def _remembered_availability(organization_id: str, cached: tuple | None, version: int) -> dict:
    """The answer from what Redis held (`cached`: generation, value), remembered here until a change
    drops it, and never past the moment it could change by itself (a rep's hours ending)."""
    from app.availability.service import widget_availability_until

    answer, until = widget_availability_until(organization_id, cached)
    local_cache().put(("available", organization_id), answer, until - time.time(), version)
    return answer


def forget_availability(organization_id) -> None:
    """Availability changed (availability.service.invalidate): every process stops remembering it."""
    forget("available", str(organization_id))


def forget(kind: str, key: str) -> None:
    """This process's memory drops it at once; every other process's when its listener hears it."""
    local_cache().drop((kind, key))
    announce(kind, key)


def _stored_entry(public_key: str) -> dict | None:
    """Built from the database and stored in Redis (a cold cache, or a save just dropped it)."""
    site = site_by_public_key(public_key)
    if site is None:
        return None
    entry = _cache_entry(site)
    db.session.commit()  # the defaults settings_for/theme_for may have created
    with unless_redis_down("the widget config cache"):
        _store(get_redis(), public_key, entry)
    return entry


def _store(redis, public_key: str, entry: dict) -> None:
    """Queue the entry on a pipeline (`redis`), or store it at once."""
    meta = {key: entry[key] for key in ("siteId", "domains", "countries", "paused", "call")}
    pipe = redis if isinstance(redis, Pipeline) else redis.pipeline()
    pipe.hset(_site_key(public_key), mapping={
        "org": entry["organizationId"], "meta": json.dumps(meta), "config": entry["configJson"],
        "digest": entry["digest"]})
    pipe.expire(_site_key(public_key), current_app.config["WIDGET_CONFIG_CACHE_SECONDS"])
    if pipe is not redis:
        pipe.execute()


def invalidate(site: Site) -> None:
    """Forget the cached config after an admin saves; the next request rebuilds it.

    Redis unreachable: the save stands (it is committed); a Redis that was restarted holds no
    copy, one that was only cut off keeps its copy until WIDGET_CONFIG_CACHE_SECONDS."""
    forget_entry(site.public_key)


def forget_entry(public_key: str) -> None:
    """Drop the site's entry from Redis and from every process's memory (see invalidate)."""
    with unless_redis_down("dropping the widget config cache"):
        get_redis().delete(_site_key(public_key))
    forget("entry", public_key)


def warm(batch: int = 500) -> dict:
    """Fill Redis with what visitors would otherwise compute: every site's entry and every
    organization's availability answer it lacks (after a restart, a flush, an expiry, a save).
    cron runs it every OWED_SWEEP_SECONDS; one pass at a time (a lock), cheap when all is warm."""
    from app.availability.service import is_cached, widget_availability_until

    if not has_request_context():  # the assets' relative URLs (url_for) need one, even in a worker
        with current_app.test_request_context("/"):
            return warm(batch)
    redis = get_redis()
    lock = redis.lock("widget:warming", timeout=600, blocking=False)
    if not lock.acquire():
        return {"skipped": "another pass is warming"}
    try:
        sites = db.session.execute(sa.select(Site.public_key, Site.organization_id)).all()
        built = 0
        for start in range(0, len(sites), batch):
            built += _warm_sites(redis, [key for key, _ in sites[start:start + batch]])
            lock.reacquire()  # still ours for another timeout: a large pass may take minutes
        computed = 0
        for organization_id in {org for _, org in sites}:
            if not is_cached(organization_id):
                widget_availability_until(organization_id)
                computed += 1
        return {"sites": built, "organizations": computed}
    finally:
        with contextlib.suppress(LockError):
            lock.release()


def _warm_sites(redis, public_keys: list[str]) -> int:
    """Build and store the entries Redis lacks among these sites: one query for the sites, one
    commit and one pipeline for the whole batch."""
    pipe = redis.pipeline(transaction=False)
    for key in public_keys:
        pipe.exists(_site_key(key))
    missing = [key for key, present in zip(public_keys, pipe.execute(), strict=True) if not present]
    if not missing:
        return 0
    entries = {site.public_key: _cache_entry(site)
               for site in db.session.scalars(sa.select(Site).where(Site.public_key.in_(missing)))}
    db.session.commit()  # the defaults settings_for/theme_for may have created
    for key, entry in entries.items():
        _store(pipe, key, entry)
    pipe.execute()
    return len(entries)


def country_allowed(countries: list[str], country: str | None) -> bool:
    """Empty list = everywhere; an unknown country is shown the badge."""
    return not countries or country is None or country.upper() in countries


@sa.event.listens_for(Site, "after_delete")
def _forget_deleted_site(mapper, connection, site) -> None:
    # a deleted site's badge must stop at once, not when the cache entry expires
    invalidate(site)
