"""The Kalay API's executor (events.kalay.execution) answers every document as graphql-core's own does: aliases,
fragments, directives, __typename, nulls, nested objects, and values that do not coerce (an error at its path)."""

import pytest
import strawberry

from events.kalay.execution import PlainObjectsExecutionContext


@strawberry.type
class Box:
    label: str | None = None


@strawberry.type
class Row:
    name: str | None = None
    count: int | None = None
    ratio: float | None = None
    seen: bool | None = None
    box: Box | None = None

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return (self.name or "").upper() * times


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row | None]:
        return [Row(name="a", count=1, ratio=0.5, seen=True, box=Box(label="x")), Row(name="b"), None]

    @strawberry.field
    def too_big(self) -> list[Row]:
        return [Row(name="fine", count=1), Row(name="big", count=2**40)]


@pytest.mark.parametrize(
    "document",
    [
        "{ rows { name count ratio seen } }",
        "{ rows { n: name name c: count } }",
        "{ rows { __typename name } }",
        "{ rows { ...F count } } fragment F on Row { name seen }",
        "{ rows { name @skip(if: true) count @include(if: false) ratio } }",
        "{ rows { name box { label } } }",
        "{ rows { name shout(times: 2) } }",
        "{ tooBig { name count } }",
        "{ tooBig { name } }",
    ],
)
def test_answers_as_graphql_core_does(document):
    plain = strawberry.Schema(query=Query, execution_context_class=PlainObjectsExecutionContext)
    reference = strawberry.Schema(query=Query)
    ours, theirs = plain.execute_sync(document), reference.execute_sync(document)
    assert ours.data == theirs.data
    assert [e.formatted for e in ours.errors or []] == [e.formatted for e in theirs.errors or []]


def test_a_value_that_does_not_coerce_is_an_error_at_its_path():
    result = strawberry.Schema(query=Query, execution_context_class=PlainObjectsExecutionContext).execute_sync(
        "{ tooBig { name count } }"
    )
    assert result.data == {"tooBig": [{"name": "fine", "count": 1}, {"name": "big", "count": None}]}
    [error] = result.errors
    assert error.path == ["tooBig", 1, "count"]
    assert "non 32-bit signed integer" in error.message
