"""A model that cannot be loaded: the camera says so, and motion events go on."""

import pytest

from cameras.models import PipelineState
from events.models import Event
from tenants.checks import detector_model_loadable

from .conftest import run_detectors

pytestmark = pytest.mark.django_db(transaction=True)


def test_missing_model_is_reported_and_motion_events_go_on(
    tenant_a, stream_camera, settings, caplog, client_a, client_b
):
    settings.VMS_DETECTOR_MODEL = str(settings.BASE_DIR / "var" / "no-such-model_openvino_model")
    camera = stream_camera(tenant_a, "cam-no-model", ["person", "motion"])
    state = PipelineState.objects.create(camera=camera, kind="detect", state=PipelineState.State.RUNNING)
    run_detectors([camera], 5)

    state.refresh_from_db()
    assert "no-such-model_openvino_model" in state.detail
    assert "motion events go on" in state.detail
    assert "cannot be loaded" in caplog.text
    shown = client_a.get(f"/v2/api/cameras/{camera.slug}").json()["pipelines"]["detect"]["detail"]
    assert shown == state.detail
    assert client_b.get(f"/v2/api/cameras/{camera.slug}").status_code == 404
    types = list(Event.objects.filter(tenant=tenant_a, camera_id=camera.slug).values_list("type", flat=True))
    assert types == ["motion"]
    [warning] = detector_model_loadable(None)
    assert warning.id == "vms.W003"


def test_configured_model_passes_the_system_check():
    assert detector_model_loadable(None) == []
