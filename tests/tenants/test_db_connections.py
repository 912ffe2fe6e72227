"""The web process's PostgreSQL connections stay bounded under a burst of concurrent requests (a pool per process),
instead of one left open per request thread until max_connections runs out."""

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from ..processes import running_daphne

pytestmark = pytest.mark.django_db(transaction=True)


def daphne_connections() -> int:
    with connection.cursor() as cursor:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'daphne'"
        cursor.execute(sql)
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "env, fewest, most",
    [({}, 2, 20), ({"DB_POOL_MAX_SIZE": "4", "DB_POOL_MIN_SIZE": "1"}, 1, 4)],
    ids=["the web process's default pool", "a pool of 4"],
)
def test_a_burst_of_requests_uses_at_most_the_pools_connections(camera_a, make_token, tmp_path, env, fewest, most):
    headers = {"Authorization": f"Bearer {make_token(camera_a.tenant)}"}

    def cameras(url: str) -> list:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return json.load(response)

    with running_daphne(tmp_path / "daphne.log", **env) as server:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(cameras, [f"{server.url}/v2/api/cameras"] * 64))
        assert all(answer[0]["id"] == "cam-front-01" for answer in answers)
        assert fewest <= daphne_connections() <= most  # kept in the pool, no more
