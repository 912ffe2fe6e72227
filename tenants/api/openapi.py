"""What every app's OpenAPI schema shares: the token's security scheme, the error responses, and what DRF does
with a request before any view runs (vms/settings.py names the hook)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse

from .errors import ErrorSerializer

ERRORS = {
    400: "Invalid input: `fields` has the message of each invalid field.",
    401: "No token, or a malformed, expired or revoked one.",
    403: "The token lacks the scope this operation needs.",
    404: "No such object in the token's tenant.",
    409: "Conflicts with an object that exists.",
}
# What Python's str.isspace() (so str.strip() and str.split()) takes as whitespace, for a pattern's character class,
# spelled out: `\s` means something else in JSON Schema's regex dialect, and again in schemathesis' ASCII reading.
SPACE = r"\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# DRF's CharField trims surrounding whitespace, then refuses NUL (PostgreSQL text cannot hold it) and, unless blank
# is allowed, what is left empty.
ANY_TEXT = r"^[^\u0000]*$"
NOT_BLANK_TEXT = rf"^[^\u0000]*[^{SPACE}\u0000][^\u0000]*$"


# drf-spectacular registers an extension when its class is defined: every app's API views import this module.
class TenantJWTScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.auth.TenantJWTAuthentication"
    name = "tenantJWT"

    def get_security_definition(self, auto_schema) -> dict:
        # `JWT <token>` works too (Kalay clients send it); OpenAPI names one prefix.
        return build_bearer_security_scheme_object("HTTP_AUTHORIZATION", "Bearer", "JWT")


def error(description: str) -> OpenApiResponse:
    """An error response in the API's one error shape."""
    return OpenApiResponse(ErrorSerializer, description=description)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses of an operation for `statuses`, described as in ERRORS."""
    return {status: error(ERRORS[status]) for status in statuses}


def _text_rules(schema: dict) -> None:
    if schema.get("type") == "string" and not ({"format", "enum", "pattern"} & set(schema)):
        schema["pattern"] = NOT_BLANK_TEXT if schema.get("minLength") else ANY_TEXT
    for sub in schema.get("properties", {}).values():
        _text_rules(sub)
    if "items" in schema:
        _text_rules(schema["items"])


def describe_request_handling(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: state in the schema what the shared base does for every operation.

    - an authenticated operation can answer 401 (no or bad token) and 403 (a scope is missing);
    - an optional query parameter given empty (`?limit=`) counts as absent (DRF reads query strings so);
    - text input is trimmed, may not hold NUL, and may not be blank where it has a minLength.
    """
    for path in result["paths"].values():
        for operation in path.values():
            if operation.get("security"):
                for status in (401, 403):
                    operation["responses"].setdefault(str(status), {
                        "description": ERRORS[status],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    })  # fmt: skip
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
                if parameter["in"] in ("query", "path"):
                    _text_rules(parameter["schema"])
    for name, schema in result["components"]["schemas"].items():
        if name.endswith("Request"):
            _text_rules(schema)
    return result
