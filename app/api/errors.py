"""JSON errors of the API: the status codes of the product doc, `{"error": {"code", "message"}}`."""

from flask import g, jsonify, request
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from app.api import bp

API_PATHS = ("/integrations/webhooks", "/integrations/zapier", "/webhooks/events", "/api/")
CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
         422: "unprocessable",
         429: "rate_limited", 500: "server_error"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def is_api_request() -> bool:
    return request.path.startswith(API_PATHS)


def json_error(status: int, code: str, message: str):
    body = {"error": {"code": code, "message": message}}
    if status >= 500:
        body["error"]["requestId"] = g.get("request_id")  # what support asks for
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="Converc API"'
    return response


@bp.errorhandler(ApiError)
def _api_error(e: ApiError):
    return json_error(e.status, e.code, e.message)


def http_error(e: HTTPException):
    status = e.code or 500
    message = e.description if status != 500 else "Server error. Contact support with the request id."
    response = json_error(status, CODES.get(status, "error"), message)
    if status in (405, 429):
        # 405 keeps werkzeug's Allow (RFC 9110); 429 its Retry-After and rate headers
        kept = e.get_response().headers.items()
        response.headers.update({k: v for k, v in kept if k == "Allow" or k.startswith(("Retry", "X-Rate"))})
    return response


@bp.errorhandler(HTTPException)
def _http_error(e: HTTPException):
    return http_error(e)


@bp.errorhandler(RedisError)
def _redis_unavailable(e: RedisError):
    from app.errors import redis_unavailable

    return redis_unavailable(e)  # before the catch-all below: a clear "try again", not a 500


@bp.errorhandler(Exception)
def _server_error(e: Exception):
    from flask import current_app

    current_app.logger.exception("API error (request id %s)", g.get("request_id"))
    return json_error(500, "server_error", "Server error. Contact support with the request id.")
