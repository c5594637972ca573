"""Error pages: a clear page for people, a small fragment for htmx."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from app.htmx import is_htmx

MESSAGES = {
    400: ("Bad request", "The request could not be accepted. Reload the page and try again."),
    403: ("Not allowed", "Your role does not give access to this page. Ask an admin."),
    404: ("Not found", "This page does not exist, or it belongs to another organization."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: ("Something went wrong", "We logged the error. Try again in a moment."),
}


def _page(code: int, detail: str | None = None):
    title, message = MESSAGES[code]
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, code=code, title=title, message=detail or message), code


def _page_or_json(error, code: int):
    from app.api.errors import http_error, is_api_request

    # an API URL that matched no route (or not this method) still answers in the API's JSON
    return http_error(error) if is_api_request() else _page(code)


def _method_not_allowed(error):
    from app.api.errors import http_error, is_api_request

    return http_error(error) if is_api_request() else error


def register_error_pages(app: Flask) -> None:
    for code in MESSAGES:
        app.register_error_handler(code, lambda e, code=code: _page_or_json(e, code))
    app.register_error_handler(405, _method_not_allowed)
    app.register_error_handler(
        CSRFError, lambda e: _page(400, "Your session expired or the form was stale: reload and try again.")
    )
