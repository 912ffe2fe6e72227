"""Helpers for the Kalay GraphQL tests: the endpoint, a request helper and fixed epoch-ms windows."""

import json
from datetime import UTC, datetime

BE = "/vsaas/api/v1/be/"
START_MS, END_MS = 1583985297000, 1584011301000  # the get_event_count examples' window
IN_WINDOW = datetime(2020, 3, 12, 4, 0, tzinfo=UTC)  # 1583985600000, inside it
LIST_START_MS, LIST_END_MS = 1582398139849, 1582398239849  # the get_event_list examples' window
IN_LIST_WINDOW = datetime(2020, 2, 22, 19, 3, tzinfo=UTC)  # 1582398180000


def post(client, query: str, variables: dict | None = None, path: str = BE):
    """POST a GraphQL document the way the seed's curl examples do."""
    body = {"query": query} if variables is None else {"query": query, "variables": variables}
    return client.post(path, body, format="json")


def data(response) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"data"}
    return body["data"]


def error(response, status: int) -> str:
    """The (first) message of a failed call, after checking the status and the seed's error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"errors"}
    errors = body["errors"]
    assert errors
    assert all(set(err) == {"message", "locations"} and isinstance(err["locations"], list) for err in errors)
    return errors[0]["message"]


def arguments(**args) -> str:
    """GraphQL arguments written inline, e.g. `device:"udid",is_archieve:false,limit:5`."""
    return ",".join(f"{name}:{json.dumps(value, ensure_ascii=False)}" for name, value in args.items())
