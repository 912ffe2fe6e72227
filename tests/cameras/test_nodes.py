"""The worker nodes as platform staff see them: `GET /v2/api/nodes` (a platform token only), the admin's Nodes page
(superusers only) and `manage.py nodes`; a platform token reads no tenant's data."""

import time
from io import StringIO

import jwt
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from cameras.pipeline import supervisor
from cameras.pipeline.lease import Lease, client
from cameras.pipeline.nodes import announce

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def nodes(settings, camera_a):
    """node-a records camera_a and detects nothing yet; node-b only detects."""
    settings.VMS_PIPELINE_LEASE_MS = 60_000
    client().flushdb()
    announce("node-a", "record", capacity=64, slots=64, since=time.time() - 60)
    announce("node-a", "detect", capacity=41.5, slots=8, since=time.time() - 60)
    announce("node-b", "detect", capacity=20, slots=8, since=time.time())
    Lease(supervisor.lease_key("record", camera_a.pk), 60_000, holder="node-a pid 9").acquire()
    yield
    client().flushdb()


@pytest.fixture
def platform_client() -> APIClient:
    token = StringIO()
    call_command("issue_token", "--platform", "--ttl", "60", stdout=token)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.getvalue().strip()}")
    return api


def test_a_platform_token_lists_the_nodes_with_capacity_load_and_cameras(platform_client):
    response = platform_client.get("/v2/api/nodes")
    assert response.status_code == 200
    by_name = {node["name"]: node for node in response.json()}
    assert set(by_name) == {"node-a", "node-b"}
    record = by_name["node-a"]["kinds"]["record"]
    assert (record["capacity"], record["slots"], record["load"]) == (64, 64, 1)
    assert record["cameras"] == ["tenant-a/cam-front-01"]
    assert by_name["node-a"]["kinds"]["detect"]["capacity"] == 41.5
    assert by_name["node-b"]["kinds"].keys() == {"detect"} and by_name["node-b"]["kinds"]["detect"]["load"] == 0
    assert by_name["node-b"]["heartbeat"] > by_name["node-a"]["kinds"]["record"]["since"]


def test_a_tenant_token_gets_403_and_no_token_401(client_a):
    response = client_a.get("/v2/api/nodes")
    assert response.status_code == 403
    assert response.json() == {"detail": "This token lacks the 'platform:read' scope.", "code": "permission_denied"}
    assert APIClient().get("/v2/api/nodes").status_code == 401


def test_a_platform_token_has_no_tenant_and_reads_no_tenant_data(platform_client, make_client, tenant_a):
    for path in ("/v2/api/cameras", "/v2/api/cameras/cam-front-01", "/v2/api/events"):
        response = platform_client.get(path)
        assert response.status_code == 403 and response.json()["code"] == "permission_denied", path
    token = platform_client._credentials["HTTP_AUTHORIZATION"].split()[1]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["platform"] is True and claims["scope"] == "platform:read" and "tenant_id" not in claims
    assert claims["exp"] - claims["iat"] == 60
    # A tenant token claiming the platform scope does not get it.
    assert make_client(tenant_a, scopes=["cameras:read", "platform:read"]).get("/v2/api/nodes").status_code == 403


def test_the_nodes_command_and_admin_page_show_the_same(admin_client, staff_b):
    out = StringIO()
    call_command("nodes", stdout=out)
    text = out.getvalue()
    assert "node-a  last heartbeat" in text and "node-b  last heartbeat" in text
    assert "record: load 1 of 64, 1 of 64 slots; cameras: tenant-a/cam-front-01" in text
    assert "detect: load 0 of 20, 0 of 8 slots; cameras: -" in text
    page = admin_client.get("/admin/cameras/node/")
    assert page.status_code == 200
    assert "node-b" in page.content.decode() and "tenant-a/cam-front-01" in page.content.decode()
    assert "/admin/cameras/node/" in admin_client.get("/admin/").content.decode()
    assert staff_b.get("/admin/cameras/node/").status_code == 403, "a tenant's staff does not see the nodes"
    assert "/admin/cameras/node/" not in staff_b.get("/admin/").content.decode()
