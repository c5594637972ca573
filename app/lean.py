"""What every request pays for: the hooks extensions install for all requests, run only where they
do something. A widget visitor's /widget/config or /widget/ping carries no session cookie, logs no
one in and has no Flask-Limiter limit (the widget counts its own, app.widget.ratelimit), yet these
hooks cost more than Flask itself (measured by bench/widget_config.py).
"""

import weakref

from flask import Flask, current_app, request
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface

from app.extensions import limiter, login_manager
from app.security import is_public_request


class LeanFlask(Flask):
    """Flask, remembering its answer to "is this hook or view a coroutine function?": it asks for
    every hook and view of every request (16 times for /widget/ping), and the answer never changes.
    Weak keys: a function made for one request (after_this_request) is forgotten with it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync = weakref.WeakKeyDictionary()

    def ensure_sync(self, func):
        try:
            return self._sync[func]
        except KeyError:
            sync = self._sync[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # a callable that cannot be weakly referenced: ask Flask every time
            return super().ensure_sync(func)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the work when there is no cookie to read or write."""

    def open_session(self, app, request):
        # Flask builds a signer for every request; a request without the cookie needs none
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if session.accessed:  # untouched: nothing to set, delete or vary on
            super().save_session(app, session, response)


def init_lean_requests(app: Flask) -> None:
    """Call after the extensions are bound (their hooks are replaced in place, keeping their order)."""
    app.session_interface = CookieSessions()
    _replace(app.after_request_funcs[None], login_manager._update_remember_cookie, _unless_public)
    csrf_protect = next(hook for hook in app.before_request_funcs[None]
                        if getattr(hook, "__qualname__", "").startswith("CSRFProtect."))
    _replace(app.before_request_funcs[None], csrf_protect, _only_writes)
    # Flask-Limiter's three hooks; a route's own @limiter.limit is checked by its decorator
    _replace(app.before_request_funcs[None], limiter._check_request_limit, _where_limits_apply)
    _replace(app.after_request_funcs[None], _limiter_after_request(app), _if_limiter_looked)
    _replace(app.teardown_request_funcs[None], limiter._Limiter__release_context, _if_limiter_looked)


def _replace(hooks: list, hook, gate) -> None:
    hooks[hooks.index(hook)] = gate(hook)


def _limiter_after_request(app: Flask):
    # Flask-Limiter registers a functools.partial bound to the extension: the one hook holding it
    return next(hook for hook in app.after_request_funcs[None] if getattr(hook, "args", None) == (limiter,))


def _unless_public(hook):
    """Flask-Login's remember-me refresh reads the session (so every answer varied on Cookie): only a
    dashboard page can log someone in or out."""

    def gated(response):
        return response if is_public_request() else hook(response)

    return gated


def _only_writes(protect):
    """Flask-WTF looks up the view's exemptions before it looks at the method: a read needs neither."""

    def gated():
        return protect() if request.method in current_app.config["WTF_CSRF_METHODS"] else None

    return gated


def _where_limits_apply(check):
    """The limiter's before_request checks blueprint, default and application limits: skip it where
    none applies (every blueprint but the API's, unless limits for all routes are configured)."""

    applies: dict = {}  # blueprint name -> whether any limit applies there (this app's)

    def gated():
        blueprint = request.blueprint
        if blueprint not in applies:
            manager = limiter.limit_manager
            applies[blueprint] = bool(manager.default_limits or manager.application_limits or (
                blueprint and manager.blueprint_limits(current_app, blueprint)))
        return check() if applies[blueprint] else None

    return gated


def _if_limiter_looked(hook):
    """The limiter's after_request (its headers, conditional deductions) and teardown act on what it
    recorded for this request, on the request context; none recorded, nothing to do."""

    def gated(arg=None):
        looked = hasattr(request_ctx._get_current_object(), "_limiter_request_context")
        return hook(arg) if looked else arg

    return gated
