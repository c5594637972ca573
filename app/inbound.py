"""What comes in: every request body is bounded, JSON bodies cannot hurt, and no text holds NUL.

One mechanism for every endpoint, old and new: Flask parses request bodies with the app's JSON
provider, `SafeJSONProvider`, so any view's `request.get_json()` yields a value at most
MAX_JSON_DEPTH deep whose strings hold no NUL and whose numbers are finite, or a 400 that says
what is wrong (even with `silent=True`: a body that parses but cannot be stored is not "no
JSON"). A body longer than MAX_CONTENT_LENGTH is refused with 413 before anything reads it; a
view that takes more (the recorder's chunks) says so with `body_limit`. NUL in a query string
or path is refused with 400 here; dashboard forms refuse it next to the field (app.forms).
"""

import json
import math

from flask import Flask, abort, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

MAX_JSON_DEPTH = 32
NUL = "\x00"
NUL_MESSAGE = "Text may not contain NUL characters (\\u0000)."


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large a number")
    return number


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def check_value(value) -> None:
    """BadRequest when a parsed JSON value nests too deeply or a string (or key) holds NUL."""
    stack = [(value, 1)]
    while stack:  # iterative: a deep value must not exhaust the stack here either
        item, depth = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                raise BadRequest(NUL_MESSAGE)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


class SafeJSONProvider(DefaultJSONProvider):
    """The app's JSON: parses like json.loads, then checks (see check_value). Flask parses every
    request body with it (`request.get_json`)."""

    def loads(self, s, **kwargs):
        try:
            value = json.loads(s, parse_float=_finite, parse_constant=_refuse_constant)
        except RecursionError as e:
            raise BadRequest(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.") from e
        check_value(value)
        return value


def body_limit(config_key: str):
    """Let this view take a body of up to `config[config_key]` bytes instead of MAX_CONTENT_LENGTH."""

    def mark(view):
        view.body_limit_key = config_key
        return view

    return mark


def _check_request():
    view = current_app.view_functions.get(request.endpoint)
    key = getattr(view, "body_limit_key", None)
    limit = request.max_content_length
    if key is not None:
        request.max_content_length = current_app.config[key]  # the view refuses more in its own words
    elif limit is not None and (request.content_length or 0) > limit:
        # refuse at once what would be refused when read (a body with no length is cut off as it streams)
        raise RequestEntityTooLarge(f"The request body may be at most {limit} bytes.")
    if NUL in request.path or _nul_in_query(request.query_string):
        abort(400, NUL_MESSAGE)


def _nul_in_query(raw: bytes) -> bool:
    # NUL reaches the arguments only as %00 or a raw byte: most requests need not parse them here
    return (b"%00" in raw or b"\0" in raw) and any(
        NUL in k or NUL in v for k, v in request.args.items(multi=True))


def init_inbound(app: Flask) -> None:
    app.json = SafeJSONProvider(app)
    app.before_request(_check_request)
