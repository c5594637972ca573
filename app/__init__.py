"""Converc: create_app() builds the whole application."""

from flask import Flask

from app import config
from app.extensions import csrf, db, limiter, login_manager, migrate, sock
from app.redis_store import init_redis, limiter_storage_uri
from app.security import init_security


def create_app(overrides: dict | None = None) -> Flask:
    # Templates and static files live at the top level of the repo, beside app/.
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(config.INSTANCE),
    )
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_env())
    app.config.update(overrides or {})
    init_redis(app)
    init_extensions(app)
    init_security(app)
    init_blueprints(app)
    init_errors(app)
    init_templates(app)
    init_cli(app)
    return app


def init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    sock.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app.config["REDIS_URL"]))
    limiter.init_app(app)
    from app.integrations.oauth import init_oauth

    init_oauth(app)


def init_blueprints(app: Flask) -> None:
    from app import (
        api,
        auth,
        availability,
        calls,
        contacts,
        dashboard,
        integrations,
        qualifications,
        realtime,
        recordings,
        sites,
        team,
        webhooks,
        widget,
        widget_settings,
        widget_theme,
    )

    for package in (auth, dashboard, team, sites, widget, widget_settings, widget_theme, qualifications,
                    availability, calls, contacts, realtime, integrations, webhooks, api, recordings):
        app.register_blueprint(package.bp)
    app.register_blueprint(calls.visitor_bp)
    app.register_blueprint(recordings.public_bp)


def init_errors(app: Flask) -> None:
    from app.errors import register_error_pages

    register_error_pages(app)


def init_templates(app: Flask) -> None:
    from app.navigation import nav_sections

    app.context_processor(lambda: {"nav_sections": nav_sections})


def init_cli(app: Flask) -> None:
    from app.cli import seed_demo

    app.cli.add_command(seed_demo)
