"""Error pages: a clear page for people, a small fragment for htmx, JSON for API and public callers."""

from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError
from redis.exceptions import RedisError

from app.htmx import is_htmx

MESSAGES = {
    400: ("Bad request", "The request could not be accepted. Reload the page and try again."),
    403: ("Not allowed", "Your role does not give access to this page. Ask an admin."),
    404: ("Not found", "This page does not exist, or it belongs to another organization."),
    413: ("Too large", "The request was too large to accept."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: ("Something went wrong", "We logged the error. Try again in a moment."),
    503: ("Temporarily unavailable", "Part of the service is briefly unavailable. Try again in a moment."),
}
RETRY_SECONDS = 5  # what a caller is told to wait when Redis is unreachable
UNAVAILABLE = "This is briefly unavailable. Try again in a few seconds."


def wants_json() -> bool:
    from app.api.errors import is_api_request
    from app.security import is_public_request

    return is_api_request() or is_public_request()


def _page(code: int, detail: str | None = None):
    title, message = MESSAGES[code]
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, code=code, title=title, message=detail or message), code


def _page_or_json(error, code: int):
    from app.api.errors import http_error

    # an API URL that matched no route (or not this method) still answers in the API's JSON
    if wants_json():
        return http_error(error)
    return _page(code)


def _method_not_allowed(error):
    from app.api.errors import http_error

    return http_error(error) if wants_json() else error


def redis_unavailable(error: RedisError):
    """Redis is down and this request cannot do without it: a clear "try again", never a 500."""
    from app.api.errors import json_error

    current_app.logger.warning("Redis unreachable: answered 503 (%s)", error)
    if wants_json():
        response = json_error(503, "service_unavailable", UNAVAILABLE)
    else:
        body, _ = _page(503)
        response = current_app.make_response((body, 503))
    response.headers["Retry-After"] = str(RETRY_SECONDS)
    return response


def register_error_pages(app: Flask) -> None:
    for code in MESSAGES:
        app.register_error_handler(code, lambda e, code=code: _page_or_json(e, code))
    app.register_error_handler(405, _method_not_allowed)
    app.register_error_handler(RedisError, redis_unavailable)
    app.register_error_handler(
        CSRFError, lambda e: _page(400, "Your session expired or the form was stale: reload and try again.")
    )
