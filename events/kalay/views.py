"""HTTP edge of the Kalay API: token -> tenant, GET/POST -> one GraphQL operation, errors -> the seed's statuses.

Any error makes the whole answer `{"errors": [{"message", "locations"}]}` with the most severe status of
its errors (400 bad input, 401 token, 403 scope, 404 unknown pk, 500 surprise); success is 200 `{"data": ...}`.
Mutations are accepted over GET too, as the seed lists them: the token travels only in a header, so a
cross-site page cannot make a browser send one.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from graphql import GraphQLError
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from strawberry.schema.exceptions import CannotGetOperationTypeError

from tenants.auth import TenantJWTAuthentication, failure_message
from tenants.gate import TenantPrincipal

from .errors import BadRequest, status_of
from .schema import KalayContext, schema

# graphql-core's wording of a missing argument, rewritten to the seed's.
MISSING_ARGUMENT = re.compile(r"Argument '[^']*\((\w+):\)' of type '([^']+)' is required, but it was not provided\.")
SEED_MISSING_ARGUMENT = r"Field '\1' of required type '\2' is not provided"


def error_body(message: str, locations: list[dict[str, int]] | None = None) -> dict[str, Any]:
    return {"errors": [{"message": message, "locations": locations or []}]}


def authenticate(request: HttpRequest) -> TenantPrincipal:
    found = TenantJWTAuthentication().authenticate(request)
    if found is None:
        raise NotAuthenticated()
    return found[0]


def read_operation(request: HttpRequest) -> tuple[str, dict | None, str | None]:
    """(query, variables, operationName) of a GET query string or a JSON POST body."""
    if request.method == "GET":
        params: Mapping[str, Any] = request.GET
        variables = params.get("variables") or None
        if variables is not None:
            try:
                variables = json.loads(variables)
            except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
                raise BadRequest("variables must be a JSON object.") from None
    else:
        try:
            params = json.loads(request.body)
        except (ValueError, RecursionError):
            raise BadRequest('The body must be JSON: {"query": ..., "variables": {...}}.') from None
        if not isinstance(params, dict):
            raise BadRequest('The body must be a JSON object: {"query": ..., "variables": {...}}.')
        variables = params.get("variables")
    query, operation_name = params.get("query"), params.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest("A GraphQL query is required in `query`.")
    if not isinstance(variables, dict | None):
        raise BadRequest("variables must be a JSON object.")
    if not isinstance(operation_name, str | None):
        raise BadRequest("operationName must be a string.")
    return query, variables, operation_name


def format_error(error: GraphQLError) -> dict[str, Any]:
    message = (
        "Internal server error."
        if status_of(error) >= 500
        else MISSING_ARGUMENT.sub(SEED_MISSING_ARGUMENT, error.message)
    )
    locations = [{"line": loc.line, "column": loc.column} for loc in error.locations or []]
    return {"message": message, "locations": locations}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def graphql_endpoint(request: HttpRequest) -> JsonResponse:
    try:
        principal = authenticate(request)
    except (AuthenticationFailed, NotAuthenticated) as exc:
        challenge = TenantJWTAuthentication().authenticate_header(request)
        return JsonResponse(error_body(failure_message(exc)), status=401, headers={"WWW-Authenticate": challenge})
    try:
        query, variables, operation_name = read_operation(request)
        result = schema.execute_sync(
            query,
            variable_values=variables,
            context_value=KalayContext(request=request, principal=principal),
            operation_name=operation_name,
        )
    except BadRequest as exc:
        return JsonResponse(error_body(str(exc)), status=400)
    except CannotGetOperationTypeError as exc:
        return JsonResponse(error_body(exc.as_http_error_reason()), status=400)
    if result.errors:
        status = max(status_of(error) for error in result.errors)
        return JsonResponse({"errors": [format_error(error) for error in result.errors]}, status=status)
    return JsonResponse({"data": result.data})
