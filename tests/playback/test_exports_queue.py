"""The export queue: the plan's export quota (403) and queued-exports limit (429) when a job is started, and the
choice of the next job an export worker runs: round robin across tenants, within each one's max_running_exports."""

import pytest
from django.utils import timezone

from playback.export_queue import claim_next_export
from playback.models import Export, ExportFile
from playback.retention import GB

from ..factories import CameraFactory
from .test_exports import EXPORTS, body, finished, start_export
from .test_exports_progress import new_export

pytestmark = pytest.mark.django_db


def test_over_the_export_quota_a_new_export_is_a_403_naming_it(
    client_a, client_b, tenant_a, tenant_b, camera_a, record
):
    record(camera_a)
    tenant_a.export_quota_gb = 1
    tenant_a.save()
    held = finished(client_a, start_export(client_a, legal_hold=True))
    assert held["state"] == "done"
    ExportFile.objects.filter(export_id=held["id"]).update(size=GB)  # a held export of 1 GB: it counts

    response = client_a.post(EXPORTS, body(), format="json")

    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "export_quota_gb"
    assert "export_quota_gb" in response.json()["detail"] and "1 GB" in response.json()["detail"]
    assert Export.objects.count() == 1
    # Another tenant's exports are its own business.
    record(CameraFactory(tenant=tenant_b, slug="cam-b"))
    start_export(client_b, camera_ids=("cam-b",))
    # Room again once the quota is above what the tenant keeps.
    tenant_a.export_quota_gb = 2
    tenant_a.save()
    start_export(client_a)


def test_over_the_queue_limit_a_new_export_is_a_429_naming_it(client_a, client_b, tenant_a, tenant_b, camera_a, record):
    record(camera_a)
    tenant_a.max_queued_exports = 2
    tenant_a.save()
    first, _ = start_export(client_a), start_export(client_a)

    response = client_a.post(EXPORTS, body(), format="json")

    assert response.status_code == 429, response.json()
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "max_queued_exports"
    assert "max_queued_exports" in response.json()["detail"]
    assert Export.objects.count() == 2
    record(CameraFactory(tenant=tenant_b, slug="cam-b"))
    start_export(client_b, camera_ids=("cam-b",))  # A's queue does not hold up B
    Export.objects.filter(pk=first["id"]).update(state=Export.State.RUNNING)
    start_export(client_a)  # running is not waiting: A has room for one more


def test_the_next_export_is_taken_round_robin_within_each_tenant_s_running_limit(tenant_a, tenant_b, camera_a):
    camera_b = CameraFactory(tenant=tenant_b, slug="cam-b")
    a1, a2, a3 = (new_export(camera_a) for _ in range(3))
    b1 = new_export(camera_b)

    assert claim_next_export("turn-1") == a1  # neither tenant has started one: the oldest export
    assert claim_next_export("turn-2") == b1  # B's turn: A's last export started later than B's (never)
    assert claim_next_export("turn-3") == a2
    assert claim_next_export("turn-4") is None  # A runs 2, its max_running_exports; B has nothing waiting
    a1.refresh_from_db()
    assert (a1.state, a1.task_id) == ("running", "turn-1") and a1.started_at <= timezone.now()

    assert claim_next_export("turn-1") == a1  # the same task again (its worker died): the export it took
    Export.objects.filter(pk=a1.pk).update(state=Export.State.DONE)
    assert claim_next_export("turn-5") == a3
    assert not Export.objects.filter(state=Export.State.QUEUED).exists()


def test_a_tenant_whose_last_export_started_longer_ago_goes_first(tenant_a, tenant_b, camera_a):
    camera_b = CameraFactory(tenant=tenant_b, slug="cam-b")
    a1 = new_export(camera_a)
    b1 = new_export(camera_b)
    new_export(camera_b, state=Export.State.DONE, started_at=timezone.now() - timezone.timedelta(minutes=5))
    new_export(camera_a, state=Export.State.DONE, started_at=timezone.now() - timezone.timedelta(minutes=1))

    assert claim_next_export("turn-1") == b1  # B's last export started 5 minutes ago, A's 1 minute ago
    assert claim_next_export("turn-2") == a1
