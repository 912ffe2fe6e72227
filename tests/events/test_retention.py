"""Retention: expired events past the grace period go with their snapshots; the others stay."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from events.models import Event
from events.retention import purge_expired_events
from events.services import delete_events
from events.tasks import purge_expired_events_task
from playback.paths import new_snapshot, recordings_path
from vms.celery import app

from ..factories import EventFactory

pytestmark = pytest.mark.django_db


def event_with_snapshot(tenant, expired_days_ago: float):
    """An event that expired `expired_days_ago` days ago (negative: expires in the future), with a snapshot file."""
    expires = timezone.now() - timedelta(days=expired_days_ago)
    ts = expires - timedelta(days=tenant.event_retention_days)
    snapshot = new_snapshot(tenant.id, "cam-front-01", ts)
    path = recordings_path(snapshot)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8jpeg")
    return EventFactory(tenant=tenant, ts=ts, expires=expires, snapshot=snapshot), path


@pytest.fixture
def events(tenant_a, tenant_b):
    grace = settings.VMS_EVENT_PURGE_GRACE_DAYS
    return {
        "long_gone": [event_with_snapshot(t, grace + 5) for t in (tenant_a, tenant_b)],
        "just_past_grace": [event_with_snapshot(tenant_a, grace + 0.01)],
        "archived_in_grace": [event_with_snapshot(tenant_a, grace - 0.01)],
        "live": [event_with_snapshot(tenant_b, -1)],
    }


def assert_purged(events, purged: set[str]) -> None:
    for group, pairs in events.items():
        for event, path in pairs:
            gone = group in purged
            assert Event.objects.filter(pk=event.pk).exists() is not gone, (group, event.pk)
            assert path.exists() is not gone, (group, path)


def test_purge_removes_rows_and_files_past_expiry_plus_grace(events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_expired_events(batch_size=2) == 3  # two batches
    assert_purged(events, {"long_gone", "just_past_grace"})


def test_purge_command_dry_run_changes_nothing(events):
    out = StringIO()
    call_command("purge_events", "--dry-run", stdout=out)
    assert out.getvalue().startswith("Would delete 3 events")
    assert_purged(events, set())


def test_purge_command_and_beat_task(events, django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_events", stdout=out)
    assert out.getvalue().startswith("Deleted 3 events")
    assert_purged(events, {"long_gone", "just_past_grace"})
    assert purge_expired_events_task() == 0
    [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == purge_expired_events_task.name]
    assert entry["task"] in app.tasks


def test_delete_events_tolerates_missing_files(tenant_a, django_capture_on_commit_callbacks):
    event, path = event_with_snapshot(tenant_a, 1)
    path.unlink()
    with django_capture_on_commit_callbacks(execute=True):
        assert delete_events(Event.objects.filter(pk=event.pk)) == 1
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_rolled_back_delete_keeps_rows_and_files(tenant_a):
    event, path = event_with_snapshot(tenant_a, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        delete_events(Event.objects.filter(pk=event.pk))
        raise RuntimeError("the caller fails after the delete")
    assert Event.objects.filter(pk=event.pk).exists()
    assert path.exists()
