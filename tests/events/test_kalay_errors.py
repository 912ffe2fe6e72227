"""Kalay error tables: 400 for bad GraphQL or arguments, 401 for tokens, 403 for scopes, in the seed's shape."""

import pytest
from rest_framework.test import APIClient

from events.kalay.schema import MAX_ALIASES

from .kalay import BE, END_MS, START_MS, arguments, data, error, post

pytestmark = pytest.mark.django_db

WINDOW = {"device": "udid", "start_time": str(START_MS), "end_time": str(END_MS)}


def count(**args) -> str:
    return f"query {{get_event_count({arguments(**{**WINDOW, **args})})}}"


def listing(**args) -> str:
    return f"query {{get_event_list({arguments(**{**WINDOW, **args})}){{pk}}}}"


def test_missing_required_argument_is_the_seeds_400(client_a):
    query = 'query {get_event_count(device:"udid",end_time:"1584011301000")}'
    response = post(client_a, query)
    assert error(response, 400) == "Field 'start_time' of required type 'String!' is not provided"
    assert response.json()["errors"][0]["locations"] == [{"line": 1, "column": 8}]


@pytest.mark.parametrize(
    "query",
    [
        "query {get_event_count(device:",  # syntax
        "{get_event_count}",  # every required argument missing
        "{get_event_count(device:1, start_time:2, end_time:3)}",  # Int for String
        count(unknown="x"),
        listing().replace("{pk}", "{pk,no_such_field}"),
        "{getEventCount}",  # no camel-cased aliases
        "subscription {get_event_count}",
    ],
)
def test_malformed_graphql_is_400(client_a, query):
    message = error(post(client_a, query), 400)
    assert message


@pytest.mark.parametrize(
    "args",
    [
        {"start_time": "1583985297000.5"},
        {"start_time": "-1583985297000"},
        {"start_time": "\uff12\uff10\uff12\uff10"},  # full-width digits are not a timestamp
        {"end_time": ""},
        {"end_time": "9" * 30},
        {"end_time": "9" * 5000},
        {"start_time": str(END_MS), "end_time": str(START_MS)},  # reversed
        {"start_time": str(START_MS), "end_time": str(START_MS)},  # empty range
    ],
)
def test_bad_timestamps_are_400(client_a, args):
    for query in (count(**args), listing(**args)):
        assert "time" in error(post(client_a, query), 400)


@pytest.mark.parametrize("args", [{"limit": 0}, {"limit": -5}, {"skip": -1}])
def test_limit_below_1_or_negative_skip_is_400(client_a, args):
    error(post(client_a, listing(**args)), 400)
    error(post(client_a, f"{{get_archieved_event_list({arguments(**args)}) {{device}}}}"), 400)


def test_wrong_variable_type_is_400(client_a):
    query = 'query ($d: String!) {get_event_count(device: $d, start_time: "1", end_time: "2")}'
    error(post(client_a, query, {"d": {"not": "a string"}}), 400)
    error(post(client_a, query, {}), 400)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"variables": {}}', b'{"query": 42}', b'{"query": "{x}", "variables": [1]}'],
)
def test_a_body_that_is_not_a_graphql_request_is_400(client_a, body):
    error(client_a.post(BE, body, content_type="application/json"), 400)


def test_get_needs_a_query_and_json_variables(client_a):
    error(client_a.get(BE), 400)
    error(client_a.get(BE, {"query": count(), "variables": "{oops"}), 400)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer not-a-jwt", "Token abc", "Bearer", "JWT {expired}", "Bearer {other_key}"],
)
def test_missing_bad_or_expired_token_is_401(tenant_a, make_token, header):
    client = APIClient()
    if header is not None:
        expired = make_token(tenant_a, ttl=-60)
        good = make_token(tenant_a)
        other_key = good[: good.rindex(".") + 1] + "c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ"
        client.credentials(HTTP_AUTHORIZATION=header.format(expired=expired, other_key=other_key))
    response = post(client, count())
    error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["JWT", "Bearer"])
def test_both_header_types_authenticate(make_client, tenant_a, header):
    assert data(post(make_client(tenant_a, header=header), count())) == {"get_event_count": 0}


def test_a_token_without_events_read_is_403(make_client, tenant_a):
    client = make_client(tenant_a, scopes=["cameras:read"])
    assert "events:read" in error(post(client, count()), 403)


def test_other_methods_are_405(client_a):
    assert client_a.put(BE, {"query": count()}, format="json").status_code == 405


@pytest.mark.parametrize(
    "query",
    [
        count(device="a\x00b"),
        count(tags="a\x00"),
        'mutation {update_event(pk:"a\\u0000", tags:["x"])}',
        'mutation {update_event(pk:"a", tags:["x\\u0000"])}',
        'mutation {remove_event(pk:"a\\u0000", device:"udid")}',
    ],
)
def test_nul_characters_are_400_not_a_database_error(client_a, query):
    assert "NUL" in error(post(client_a, query), 400)


def test_surrogates_in_variables_are_400_not_a_database_error(client_a):
    query = 'query ($d: String!) {get_event_count(device: $d, start_time: \\"1\\", end_time: \\"2\\")}'
    # JSON text: a lone surrogate has no UTF-8 form, so no client library would encode one.
    body = '{"query": "' + query + '", "variables": {"d": "cam\\ud800"}}'
    assert "surrogate" in error(client_a.post(BE, body, content_type="application/json"), 400)


def test_json_nested_deeper_than_the_parser_goes_is_400(client_a):
    deep = "[" * 10_000 + "]" * 10_000
    error(client_a.post(BE, '{"query": ' + deep + "}", content_type="application/json"), 400)
    error(client_a.get(BE, {"query": count(), "variables": '{"d": ' + deep + "}"}), 400)


def test_aliases_are_limited_so_one_request_cannot_run_a_thousand_queries(client_a, django_assert_max_num_queries):
    def counts(n: int) -> str:
        return "{" + " ".join(f"c{i}: get_event_count({arguments(**WINDOW)})" for i in range(n)) + "}"

    with django_assert_max_num_queries(5):
        assert "aliases" in error(post(client_a, counts(1000)), 400)
    assert data(post(client_a, counts(MAX_ALIASES))) == {f"c{i}": 0 for i in range(MAX_ALIASES)}
