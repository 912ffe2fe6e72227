"""The API's error shape for the errors Django answers itself, before or around any API view."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse

logger = logging.getLogger(__name__)
API_PATHS = ("/v2/api/", "/v2/hls/", "/v2/exports/")
DATABASE_RETRY_AFTER_S = 2


def _error(status: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


class ApiErrorsMiddleware:
    """Under /v2/api/, /v2/hls/ and /v2/exports/, Django's HTML 404 (an unknown path, a trailing slash) and 405 (a
    method a view does not take) become `{"detail", "code"}` JSON, and a body over DATA_UPLOAD_MAX_MEMORY_SIZE a
    JSON 413. Everywhere, a database that cannot be reached or has no free pooled connection (PoolTimeout) is a JSON
    503 with Retry-After: the request can succeed when repeated, which a 500 does not tell a client.

    A path with a NUL character is a 404 everywhere before any view sees it: PostgreSQL text cannot hold NUL, so
    looking up an object by such a path would fail with a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponseNotFound() if "\x00" in request.path else self.get_response(request)
        if not request.path.startswith(API_PATHS) or response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code == 404:
            return _error(404, "Not found.", "not_found")
        if response.status_code == 405:
            error = _error(405, f'Method "{request.method}" not allowed.', "method_not_allowed")
            error["Allow"] = response.get("Allow", "")
            return error
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Django itself answers this one with an HTML 400.
        if isinstance(exception, RequestDataTooBig) and request.path.startswith(API_PATHS):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return _error(413, f"The request body is larger than {limit} bytes.", "request_too_large")
        if isinstance(exception, OperationalError):
            logger.warning("Database unavailable for %s: %s", request.path, exception)
            error = _error(503, "The database is busy or unavailable; try again shortly.", "database_unavailable")
            error["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
            return error
        return None
