"""Converc: create_app() builds the whole application."""

from flask import Flask

from app import config
from app.database import init_database
from app.extensions import csrf, db, limiter, login_manager, migrate, sock
from app.inbound import init_inbound
from app.lean import LeanFlask, init_lean_requests
from app.redis_store import init_redis, limiter_storage_uri
from app.security import init_security


def create_app(overrides: dict | None = None) -> Flask:
    # Templates and static files live at the top level of the repo, beside app/.
    app = LeanFlask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(config.INSTANCE),
    )
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_env())
    app.config.update(overrides or {})
    init_database(app)
    init_proxies(app)
    init_redis(app)
    init_extensions(app)
    init_lean_requests(app)
    init_security(app)
    init_inbound(app)
    init_blueprints(app)
    init_errors(app)
    init_ops(app)
    init_templates(app)
    init_cli(app)
    return app


def init_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, the client's address, scheme and host are the ones
    the proxies forwarded (rate limits, geo and external URLs use them); otherwise the socket's."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    sock.init_app(app)
    from app.realtime.reader import SharedReader

    # one thread per process reads every socket (app/realtime/reader.py), not one thread per socket
    app.config["SOCK_SERVER_OPTIONS"] = {"thread_class": SharedReader, **app.config["SOCK_SERVER_OPTIONS"]}
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app.config["REDIS_URL"]))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          {"socket_connect_timeout": app.config.get("REDIS_CONNECT_TIMEOUT_SECONDS")})
    limiter.init_app(app)
    from app.integrations.oauth import init_oauth

    init_oauth(app)


def init_blueprints(app: Flask) -> None:
    from app import (
        analytics,
        api,
        auth,
        automations,
        availability,
        callbacks,
        calls,
        contacts,
        custom_scripts,
        dashboard,
        demo,
        integrations,
        organization,
        qualifications,
        realtime,
        recordings,
        routing,
        sites,
        team,
        webhooks,
        widget,
        widget_settings,
        widget_theme,
    )

    for package in (auth, dashboard, team, sites, widget, widget_settings, widget_theme, qualifications,
                    availability, calls, callbacks, contacts, realtime, integrations, webhooks, api,
                    recordings, routing, demo, analytics, automations, custom_scripts, organization):
        app.register_blueprint(package.bp)
    app.register_blueprint(calls.visitor_bp)
    app.register_blueprint(callbacks.visitor_bp)
    app.register_blueprint(recordings.public_bp)
    app.register_blueprint(custom_scripts.files_bp)


def init_ops(app: Flask) -> None:
    """Probes and metrics; every answered request is counted by route and status."""
    from app import ops
    from app.ops.routes import count_request

    app.register_blueprint(ops.bp)
    app.after_request(count_request)


def init_errors(app: Flask) -> None:
    from app.errors import register_error_pages

    register_error_pages(app)


def init_templates(app: Flask) -> None:
    from app.navigation import nav_sections

    app.context_processor(lambda: {"nav_sections": nav_sections})
    from app.events import describe
    from app.timefmt import localtime

    app.add_template_filter(localtime)
    app.add_template_filter(describe, "describe_event")


def init_cli(app: Flask) -> None:
    from app.api.cli import api_keys
    from app.cli import seed_demo, setup_demo

    app.cli.add_command(seed_demo)
    app.cli.add_command(setup_demo)
    app.cli.add_command(api_keys)
