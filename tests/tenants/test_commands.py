from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command

from cameras.models import Camera
from tenants.catalogue import FEATURES, SCOPES
from tenants.models import Tenant

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args, **kwargs) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_create_tenant_is_idempotent_and_updates(db):
    args = ["create_tenant", "acme", "--name", "Acme", "--camera-limit", "4", "--features", "person,vehicle"]
    run(*args)
    run(*args)
    assert Tenant.objects.count() == 1
    run("create_tenant", "acme", "--camera-limit", "9", "--features", "motion,person")
    tenant = Tenant.objects.get(pk="acme")
    assert (tenant.name, tenant.camera_limit, tenant.features) == ("Acme", 9, ["person", "motion"])


def test_create_tenant_sets_the_plan_s_quotas_and_export_queue_limits(db):
    out = run(
        "create_tenant", "acme", "--storage-quota-gb", "500", "--export-quota-gb", "50",
        "--max-running-exports", "3", "--max-queued-exports", "40",
    )  # fmt: skip
    assert "storage_quota_gb=500 export_quota_gb=50 max_running_exports=3 max_queued_exports=40" in out
    tenant = Tenant.objects.get(pk="acme")
    assert (tenant.storage_quota_gb, tenant.export_quota_gb) == (500, 50)
    assert (tenant.max_running_exports, tenant.max_queued_exports) == (3, 40)
    run("create_tenant", "acme", "--storage-quota-gb", "none", "--max-queued-exports", "5")
    tenant.refresh_from_db()
    assert (tenant.storage_quota_gb, tenant.export_quota_gb, tenant.max_queued_exports) == (None, 50, 5)


@pytest.mark.parametrize(
    "args, message",
    [
        (["Bad Slug"], "id"),
        (["acme", "--storage-quota-gb", "-1"], "storage_quota_gb"),
        (["acme", "--export-quota-gb", "lots"], "export-quota-gb"),
        (["acme", "--max-running-exports", "0"], "max_running_exports"),
        (["acme", "--max-queued-exports", "none"], "max-queued-exports"),
        (["acme", "--features", "person,teleport"], "teleport"),
        (["acme", "--camera-limit", "-1"], "camera_limit"),
    ],
)
def test_create_tenant_rejects_bad_input(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_tenant", *args)
    assert not Tenant.objects.exists()


def test_issue_token_prints_only_a_jwt_with_tenant_and_scopes(tenant_a):
    out = run("issue_token", "--tenant", "tenant-a")
    assert out.count("\n") == 1
    claims = jwt.decode(out.strip(), options={"verify_signature": False})
    assert claims["tenant_id"] == "tenant-a"
    assert claims["scope"].split() == list(SCOPES)
    assert claims["exp"] - claims["iat"] == 3600


def test_issue_token_scopes_and_ttl(client, tenant_a):
    token = run("issue_token", "--tenant", "tenant-a", "--scopes", "cameras:read events:read", "--ttl", "60").strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["scope"] == "cameras:read events:read"
    assert claims["exp"] - claims["iat"] == 60
    assert client.get("/v2/api/cameras", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tenant", "nobody"], "no tenant"),
        (["--tenant", "tenant-a", "--scopes", "cameras:read root:all"], "root:all"),
        (["--tenant", "tenant-a", "--ttl", "0"], "ttl"),
        (["--platform", "--scopes", "cameras:read"], "a platform token has platform:read"),
        (["--platform", "--tenant", "tenant-a"], "not allowed with argument"),
    ],
)
def test_issue_token_rejects_bad_input(tenant_a, args, message):
    with pytest.raises(CommandError, match=message):
        run("issue_token", *args)


def test_create_demo_gives_a_working_login(client):
    out = run("create_demo", "--password", "demo-pass-123")
    assert "export JWT=" in out
    response = client.post(
        "/v2/api/auth/token", {"username": "demo", "password": "demo-pass-123"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["tenant_id"] == "demo"


def admin_password_of(out: str) -> str:
    lines = out.splitlines()
    return lines[lines.index("Platform admin `admin` (Django admin, all tenants), new password:") + 1]


def test_create_demo_gives_the_superuser_a_password_of_its_own_printed_once(client):
    out = run("create_demo", "--password", "demo-pass-123")
    password = admin_password_of(out)
    assert len(password) >= 20
    assert "demo-pass-123" not in password
    assert out.count(password) == 1
    assert not client.login(username="admin", password="demo-pass-123")
    assert client.login(username="admin", password=password)

    # A second run (every `make run`) keeps the password the operator may have changed, and prints none.
    again = run("create_demo", "--password", "demo-pass-123")
    assert "password unchanged" in again
    assert password not in again
    assert client.login(username="admin", password=password)


def test_create_demo_sets_a_given_admin_password_without_printing_it(client):
    out = run("create_demo", "--password", "demo-pass-123", "--admin-password", "chosen-by-the-operator")
    assert "chosen-by-the-operator" not in out
    assert client.login(username="admin", password="chosen-by-the-operator")


def test_create_demo_replaces_an_admin_password_that_is_the_demo_users(client):
    UserFactory(username="admin", password="demo-pass-123", is_staff=True, is_superuser=True)
    out = run("create_demo", "--password", "demo-pass-123")
    assert not client.login(username="admin", password="demo-pass-123")
    assert client.login(username="admin", password=admin_password_of(out))


def test_create_demo_adds_the_demo_camera_once_with_every_feature_of_the_plan(settings):
    settings.VMS_DEMO_CAMERA, settings.VMS_DEMO_CAMERA_PORT = True, 8564
    out = run("create_demo", "--password", "demo-pass-123")
    assert "rtsp://127.0.0.1:8564/demo" in out
    run("create_demo", "--password", "demo-pass-123")
    [camera] = Camera.objects.filter(tenant_id="demo")
    assert (camera.slug, camera.name, camera.rtsp_url, camera.fps) == (
        "demo-street", "Demo street", "rtsp://127.0.0.1:8564/demo", 5
    )  # fmt: skip
    assert camera.features == list(FEATURES) == Tenant.objects.get(pk="demo").features
    assert camera.enabled and camera.record
    assert camera.detect_url == camera.live_url == "rtsp://127.0.0.1:8564/demo/sub"  # demo_camera.py's --sub-mount

    # A later run follows a new port and keeps what the operator changed.
    Camera.objects.filter(pk=camera.pk).update(name="My street", features=["person"])
    settings.VMS_DEMO_CAMERA_PORT = 8565
    run("create_demo", "--password", "demo-pass-123")
    camera.refresh_from_db()
    assert (camera.name, camera.features, camera.rtsp_url) == ("My street", ["person"], "rtsp://127.0.0.1:8565/demo")
    assert camera.detect_url == camera.live_url == "rtsp://127.0.0.1:8565/demo/sub"


def test_create_demo_with_the_demo_camera_off_leaves_cameras_alone(settings):
    settings.VMS_DEMO_CAMERA = False
    out = run("create_demo", "--password", "demo-pass-123")
    assert "Demo camera" not in out
    assert not Camera.objects.exists()
    # Turned off after it was added: the camera stays as it is.
    settings.VMS_DEMO_CAMERA, settings.VMS_DEMO_CAMERA_PORT = True, 8564
    run("create_demo", "--password", "demo-pass-123")
    settings.VMS_DEMO_CAMERA, settings.VMS_DEMO_CAMERA_PORT = False, 8565
    run("create_demo", "--password", "demo-pass-123")
    assert Camera.objects.get().rtsp_url == "rtsp://127.0.0.1:8564/demo"
