"""One JSON error shape for the REST API: {"detail": ..., "code": ..., ["fields": {...}]}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler

from ..gate import CameraLimited, MissingScope


# Only for the OpenAPI schema: exception_handler below (and tenants.middleware, outside the views) make the errors.
class ErrorSerializer(serializers.Serializer):
    """Every error of the REST API."""

    detail = serializers.CharField(help_text="What went wrong, for people")
    code = serializers.CharField(help_text="What went wrong, for programs: e.g. invalid, not_found, permission_denied")
    fields = serializers.DictField(
        required=False, help_text="400 only: the messages of each invalid field (nested as the input is)"
    )


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


def first_message(detail) -> str:
    """The first message of a ValidationError's detail, prefixed by its field's name (the error's `detail`)."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        message = first_message(value)
        return message if field == "non_field_errors" else f"{field}: {message}"
    if isinstance(detail, list):
        return first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def exception_handler(exc, context):
    # DRF turns Django's own exceptions into these inside its handler; do it first so they get our shape too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, MissingScope | CameraLimited):
        exc = exceptions.PermissionDenied(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"detail": first_message(detail), "code": "invalid", "fields": detail}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        detail = exc.detail.get("detail", exc.detail) if isinstance(exc.detail, dict) else exc.detail
        response.data = {"detail": str(detail), "code": code}
    return response
