"""What a failed or refused pipeline leaves for operators: masked, short, no traceback, no network oracle."""

from ipaddress import ip_network

import pytest

from cameras.models import Camera, PipelineState
from cameras.pipeline import supervisor
from cameras.pipeline.lease import client
from cameras.pipeline.registry import PipelineKind

from ..factories import CameraFactory

runs: list[int] = []


def crash_with_a_long_message(camera, should_stop) -> None:
    runs.append(camera.pk)
    # The password's first letters end up right at the 300-character cut of last_error.
    raise RuntimeError("x" * 269 + " rtsp://viewer:s3cret@10.0.0.5/other-path: Connection refused")


@pytest.fixture
def kind(monkeypatch, settings):
    """A pipeline kind "probe" run by `crash_with_a_long_message`, wanted for every enabled camera."""
    runs.clear()
    monkeypatch.setattr(supervisor, "KINDS", {"probe": PipelineKind("probe", queue="probeq", wanted=_enabled)})
    settings.VMS_PIPELINE_RUNNERS = {"probe": f"{__name__}.crash_with_a_long_message"}
    return monkeypatch


def _enabled(camera) -> bool:
    return camera.enabled


def test_a_crash_leaves_its_type_and_masked_message_only(kind, camera_a):
    supervisor.run_pipeline("probe", camera_a.pk)
    state = PipelineState.objects.get(camera=camera_a, kind="probe")
    assert state.state == "failed"
    assert state.last_error.startswith("RuntimeError: xxx")
    assert len(state.last_error) <= 300
    assert "s3" not in state.last_error  # masked before the cut, so not even the password's start is left
    assert "Traceback" not in state.last_error and 'File "/' not in state.last_error


def test_detail_is_masked_before_it_is_cut(camera_a):
    PipelineState.objects.create(camera=camera_a, kind="record")
    supervisor.report(camera_a, "record", "y" * 480 + " rtsp://viewer:s3cret@10.0.0.5/x")
    detail = PipelineState.objects.get(camera=camera_a, kind="record").detail
    assert detail.startswith("y" * 480) and "s3" not in detail


def test_a_camera_on_a_denied_network_is_refused_before_it_starts(kind, camera_a, settings):
    # Saved before the network was denied (or its name resolved elsewhere then): the start checks again.
    settings.VMS_CAMERA_DENY_NETS = [ip_network("10.0.0.0/8")]
    supervisor.run_pipeline("probe", camera_a.pk)
    state = PipelineState.objects.get(camera=camera_a, kind="probe")
    assert runs == [], "nothing connected to the denied host"
    assert (state.state, state.last_error, state.detail) == ("failed", "host is not allowed", "")
    assert client().get(supervisor.lease_key("probe", camera_a.pk)) is None


def delete_the_camera(camera) -> bool:
    """`wanted` runs after the supervisor read the camera: deleting it here is a DELETE racing the start."""
    Camera.objects.filter(pk=camera.pk).delete()
    return True


@pytest.mark.django_db(transaction=True)  # the state row's foreign key is checked at commit
def test_a_camera_deleted_while_its_pipeline_starts_ends_it_quietly(kind):
    camera = CameraFactory()
    kind.setattr(supervisor, "KINDS", {"probe": PipelineKind("probe", queue="probeq", wanted=delete_the_camera)})
    supervisor.run_pipeline("probe", camera.pk)
    assert runs == []
    assert not PipelineState.objects.exists()
    assert client().get(supervisor.lease_key("probe", camera.pk)) is None, "the lease is given back"
