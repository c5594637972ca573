"""Page or fragment: the same template partial serves a full page and an htmx swap."""

from flask import make_response, redirect, render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render(page: str, partial: str, status: int = 200, **context):
    """Render `partial` alone for htmx, else the full `page` (which includes it)."""
    template = partial if is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def redirect_to(url: str):
    """After a successful write: htmx follows HX-Redirect as a full page load, others a 303."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)
