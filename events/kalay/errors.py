"""Errors of the Kalay API, each carrying the HTTP status the seed's tables give it."""

from graphql import GraphQLError

from tenants.gate import MissingScope


class KalayError(Exception):
    """An expected failure of a Kalay operation; `status` is its HTTP status."""

    status = 400


class BadRequest(KalayError):
    status = 400


class NotFound(KalayError):
    status = 404


def status_of(error: GraphQLError) -> int:
    """The HTTP status of one GraphQL error: syntax and validation errors are 400, surprises 500."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return 400
    if isinstance(original, KalayError):
        return original.status
    if isinstance(original, MissingScope):
        return 403
    return 500
