"""The error model of SPEC section 8: one table from error class to HTTP status, and
the middleware that renders every failure in the caller's format."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from router import errors
from router.api.formats import json_response, wants_json, xml_response
from router.api.mounts import xml_root

log = structlog.get_logger(__name__)

STATUS: dict[type[errors.RouterError], int] = {
    errors.Invalid: 400,
    errors.NotAvailable: 400,
    errors.Unauthenticated: 401,
    errors.AccountInactive: 403,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.TooManyRequests: 429,
    errors.Unavailable: 503,
}

_HTTP_CODES = {400: 21100, 401: 20003, 403: 20403, 404: 20404, 405: 20405, 413: 20413}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def more_info(code: int) -> str:
    return f"https://www.twilio.com/docs/errors/{code}"


def error_response(request: web.Request, *, status: int, code: int, message: str) -> web.Response:
    """An error in the caller's format, with the headers its status needs."""
    if wants_json(request) or request.path.startswith("/v1/"):
        body = {"code": code, "message": message, "more_info": more_info(code), "status": status}
        response = json_response(body, status=status)
    else:
        response = xml_response(_xml_error(xml_root(request), status, code, message), status=status)
    if status == 401:
        # The gateway routes take a bearer token; everything else tenant Basic auth.
        scheme = "Bearer" if request.path.startswith("/v1/events/") else "Basic"
        response.headers["WWW-Authenticate"] = f'{scheme} realm="router"'
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def _xml_error(root_name: str, status: int, code: int, message: str) -> ET.Element:
    root = ET.Element(root_name)
    exception = ET.SubElement(root, "RestException")
    for name, value in (
        ("Code", code),
        ("Message", message),
        ("MoreInfo", more_info(code)),
        ("Status", status),
    ):
        ET.SubElement(exception, name).text = _XML_FORBIDDEN.sub("\ufffd", str(value))
    return root


# Messages may quote client input; XML 1.0 cannot carry these characters at all.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render RouterErrors and aiohttp's own HTTP errors as SPEC 8 errors; never a bare 500."""
    try:
        return await handler(request)
    except errors.RouterError as error:
        status = STATUS.get(type(error), 400)
        response = error_response(request, status=status, code=error.code, message=error.message)
        if isinstance(error, errors.TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _http_error(request, error)
    except Exception:
        log.exception("unhandled_error", path=request.path, method=request.method)
        return error_response(
            request, status=500, code=20500, message="Internal error; it has been logged."
        )


def _http_error(request: web.Request, error: web.HTTPException) -> web.Response:
    messages = {
        404: f"The resource {request.path} was not found.",
        405: f"Method {request.method} is not supported on {request.path}.",
        413: "The request body is too large.",
    }
    message = messages.get(error.status, error.reason)
    response = error_response(
        request,
        status=error.status,
        code=_HTTP_CODES.get(error.status, 20000 + error.status),
        message=message,
    )
    if error.status == 405 and "Allow" in error.headers:
        response.headers["Allow"] = error.headers["Allow"]
    return response
