"""The widget's scripts as customer pages receive them: compressed once per process, then reused.

Each file is read, stripped of its whole-line comments and indentation (a quarter of the loader's
gzipped size), compressed (brotli and gzip) on its first request and kept in memory with its ETag,
so a request only picks the encoding the browser accepts. Every answer carries the headers a
hostile host page needs: CORS and `Cross-Origin-Resource-Policy: cross-origin` (pages with
`Cross-Origin-Embedder-Policy: require-corp` load it), and `Timing-Allow-Origin` (the host's
performance tools may see its timings).
"""

import gzip
import hashlib
from pathlib import Path

import brotli
from flask import Response, current_app, request

ENCODINGS = ("br", "gzip")
YEAR = 31536000


def _compiled(filename: str) -> dict:
    """The file's bytes in each encoding, and its ETag (cached per process: the files ship with it)."""
    cache = current_app.extensions.setdefault("widget_scripts", {})
    if filename not in cache:
        raw = served_source((Path(current_app.static_folder) / "widget" / filename).read_text()).encode()
        cache[filename] = {
            "etag": hashlib.sha256(raw).hexdigest()[:16],
            None: raw,
            "br": brotli.compress(raw, mode=brotli.MODE_TEXT, quality=11),
            "gzip": gzip.compress(raw, 9, mtime=0),
        }
    return cache[filename]


def served_source(source: str) -> str:
    """The script without indentation, blank lines and whole-line comments (`//` lines, `/* */`
    blocks), except `//#` lines (a compile hint for V8). Line by line, so safe for these files: no
    string or template literal spans lines (tests/test_widget.py checks), and a comment after code on
    the same line stays."""
    lines, in_comment = [], False
    for line in source.split("\n"):
        code = line.strip()
        if in_comment or code.startswith("/*"):
            in_comment = "*/" not in code
            code = "" if in_comment else code.split("*/", 1)[1].strip()
        if code and (not code.startswith("//") or code.startswith("//#")):
            lines.append(code)
    return "\n".join(lines) + "\n"


def cross_origin_headers(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Timing-Allow-Origin"] = "*"
    return response


def script_response(filename: str, cache_control: str) -> Response:
    """The script in the best encoding the request accepts (304 when the browser has this version)."""
    compiled = _compiled(filename)
    encoding = request.accept_encodings.best_match(ENCODINGS)
    etag = f"{compiled['etag']}-{encoding or 'identity'}"  # one ETag per representation
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(compiled[encoding], mimetype="text/javascript")
        if encoding:
            response.headers["Content-Encoding"] = encoding
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    response.headers["Vary"] = "Accept-Encoding"
    return cross_origin_headers(response)


def versioned_cache_control(fresh: bool) -> str:
    """A year, immutable, for the current version's URL; a minute for any other (a stale config)."""
    return f"public, max-age={YEAR}, immutable" if fresh else "public, max-age=60"
