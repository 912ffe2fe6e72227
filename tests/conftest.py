"""Shared fixtures: two tenants (A and B), tokens and API clients for each, real PostgreSQL and Redis, an S3 bucket,
the RTSP camera and a recorder on it in a thread of the test."""

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.request import Request, urlopen

import boto3
import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connections
from rest_framework.test import APIClient

from playback.recording.recorder import run_recorder
from tenants.catalogue import SCOPES
from tenants.models import Membership
from tenants.tokens import issue_access_token

from .factories import CameraFactory, MembershipFactory, TenantFactory
from .rtsp_camera import RtspCamera
from .servers import PrivateS3
from .shared import cut_demo_segments


@pytest.fixture(autouse=True)
def _recordings_root(settings, tmp_path):
    settings.VMS_RECORDINGS_ROOT = tmp_path / "recordings"
    settings.VMS_RECORDINGS_ROOT.mkdir()


@pytest.fixture(autouse=True)
def _forget_login_attempts():
    """Login throttles count in the cache (this run's own Redis database): every test starts with a full budget."""
    cache.clear()


@pytest.fixture
def tenant_a(db):
    return TenantFactory(id="tenant-a", name="Tenant A")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(id="tenant-b", name="Tenant B")


@pytest.fixture
def make_token():
    def make(tenant, scopes=SCOPES, ttl=3600) -> str:
        return issue_access_token(tenant, tuple(scopes), timedelta(seconds=ttl))

    return make


@pytest.fixture
def make_client(make_token):
    """An API client authenticated as `tenant` with `scopes` (all by default)."""

    def make(tenant, scopes=SCOPES, header="Bearer") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"{header} {make_token(tenant, scopes)}")
        return client

    return make


@pytest.fixture
def client_a(make_client, tenant_a):
    return make_client(tenant_a)


@pytest.fixture
def client_b(make_client, tenant_b):
    return make_client(tenant_b)


@pytest.fixture
def staff_b(client, tenant_b):
    """The Django test client logged in as a staff admin of tenant B with every permission of the tenant apps."""
    membership = MembershipFactory(tenant=tenant_b, role=Membership.Role.ADMIN, user__is_staff=True)
    app_labels = ["cameras", "events", "playback"]
    membership.user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=app_labels))
    client.force_login(membership.user)
    return client


@pytest.fixture
def camera_a(tenant_a):
    return CameraFactory(tenant=tenant_a, slug="cam-front-01", name="Front gate")


@pytest.fixture(scope="session")
def rtsp_url():
    """The URL of a real RTSP camera looping demo-street.mp4, started once per session."""
    camera = RtspCamera()
    camera.start()
    try:
        yield camera.url
    finally:
        camera.stop()


@pytest.fixture
def rtsp_server():
    """A running RTSP camera of this test only: `.url`, `.stop()` cuts the stream, `.start()` resumes it."""
    camera = RtspCamera()
    camera.start()
    try:
        yield camera
    finally:
        camera.stop()


@pytest.fixture(scope="session")
def demo_segments(tmp_path_factory) -> list[tuple[Path, float]]:
    """The ten 2 s segments of the demo clip and their durations, cut once per session with `-c copy`."""
    return cut_demo_segments(tmp_path_factory.mktemp("demo-hls"))


@pytest.fixture(scope="session")
def s3_server():
    """A private S3 server (moto behind a proxy that can cut it off), started once per session."""
    server = PrivateS3()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def s3(s3_server, settings, monkeypatch):
    """A fresh bucket of this test, where the settings point (prefix `rec`): `.bucket`, `.endpoint`, `.server`
    (outage(), restore()), `.env` (what a child process needs), `.client` (boto3 straight to moto, so a test can look
    into the bucket during an outage too)."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    for variable, value in credentials.items():
        monkeypatch.setenv(variable, value)
    settings.VMS_STORAGE_URL = f"s3://{name}/rec"
    settings.VMS_S3_ENDPOINT_URL = s3_server.endpoint
    client = boto3.client("s3", endpoint_url=s3_server.moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    env = {"VMS_STORAGE_URL": settings.VMS_STORAGE_URL, "VMS_S3_ENDPOINT_URL": s3_server.endpoint, **credentials}
    yield SimpleNamespace(bucket=name, endpoint=s3_server.endpoint, client=client, server=s3_server, env=env)
    s3_server.restore()  # after a test that left it cut off
    # moto keeps objects in memory: drop this test's.
    urlopen(Request(f"{s3_server.moto_endpoint}/moto-api/reset", method="POST"), timeout=10).close()


class RecorderThread:
    """run_recorder in a background thread, stopped by stop() (which waits for it and its ffmpeg)."""

    def __init__(self, camera) -> None:
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(camera,), daemon=True)
        self.thread.start()

    def _run(self, camera) -> None:
        try:
            run_recorder(camera, self.stopping.is_set)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the recorder did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture
def start_recorder():
    recorders: list[RecorderThread] = []

    def start(camera) -> RecorderThread:
        recorders.append(RecorderThread(camera))
        return recorders[-1]

    yield start
    for recorder in recorders:
        if recorder.thread.is_alive():
            recorder.stop()
