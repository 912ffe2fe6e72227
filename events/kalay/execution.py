"""GraphQL execution that completes a page of plain objects as cheaply as building dicts.

graphql-core executes each field of each object on its own (resolve info, resolver, awaitable checks, completion):
a Kalay page of 100 events of 5 fields is 500 such executions, which cost more than the page's SQL. An object whose
selected fields are all nullable scalars read as attributes (strawberry's basic fields: no resolver, arguments,
permissions or extensions) is completed here in one pass, with the same output coercion of each scalar. Anything
else, and any object with a value that does not coerce (so that its error is located and reported as graphql-core
does it), goes through graphql-core.
"""

from collections.abc import Callable
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, GraphQLScalarType, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

PlainField = tuple[Callable[..., Any], Callable[[Any], Any]]  # (resolver, output coercion)
_plain_fields: dict[GraphQLObjectType, dict[str, PlainField]] = {}


def _is_plain(field: GraphQLField) -> bool:
    return getattr(field.resolve, "_is_default", False) and not field.args and isinstance(field.type, GraphQLScalarType)


def plain_fields(object_type: GraphQLObjectType) -> dict[str, PlainField]:
    """The plain fields of a type by name; types are made once with the schema, so this is computed once each."""
    found = _plain_fields.get(object_type)
    if found is None:
        found = {
            name: (f.resolve, f.type.coerce_output_value) for name, f in object_type.fields.items() if _is_plain(f)
        }
        _plain_fields[object_type] = found
    return found


class PlainObjectsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        # position_context carries @defer bookkeeping, and middleware (extensions with a resolve hook) wraps every
        # resolver: neither is taken here.
        if position_context is None and not (self.middleware_manager and self.middleware_manager.middlewares):
            completed = complete_plain(plain_fields(parent_type), source_value, grouped_field_set)
            if completed is not None:
                return completed
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)


def complete_plain(fields: dict[str, PlainField], source: Any, grouped_field_set: dict) -> dict[str, Any] | None:
    """The object's response (by response name, aliases included), or None when a selected field is not plain or a
    value does not coerce."""
    results = {}
    for response_name, details in grouped_field_set.items():
        plain = fields.get(details[0].node.name.value)
        if plain is None:
            return None
        resolve, coerce = plain
        try:
            value = resolve(source, None)
            if value is not None:
                value = coerce(value)
                if value is None or value is Undefined:
                    return None
        except Exception:  # graphql-core reports it, located at its field
            return None
        results[response_name] = value
    return results
