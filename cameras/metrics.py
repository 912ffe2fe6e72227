"""Prometheus gauges read from the database at scrape time, so every process reports the same truth."""

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .models import Camera, PipelineState, StatusChange
from .pipeline.registry import KINDS


def _pipelines_gauge() -> GaugeMetricFamily:
    # state="waiting": pipelines no worker node has room for (waiting for capacity).
    return GaugeMetricFamily("vms_pipelines", "Camera pipelines by kind and state", labels=["kind", "state"])


def _cameras_gauge() -> GaugeMetricFamily:
    return GaugeMetricFamily("vms_cameras", "Cameras by status and enabled flag", labels=["status", "enabled"])


def _status_changes_counter() -> CounterMetricFamily:
    return CounterMetricFamily(
        "vms_camera_status_changes", "Camera status changes stored, by new status", labels=["status"]
    )


class CameraCollector(Collector):
    def describe(self):
        # Registration asks for the metric names; answering without a query keeps start-up off the DB.
        yield _cameras_gauge()
        yield _status_changes_counter()
        yield _pipelines_gauge()

    def collect(self):
        gauge = _cameras_gauge()
        counts = {(status, enabled): 0 for status in Camera.Status.values for enabled in (True, False)}
        rows = Camera.objects.order_by().values_list("status", "enabled").annotate(n=Count("id"))
        for status, enabled, n in rows:
            counts[(status, enabled)] = n
        for (status, enabled), n in counts.items():
            gauge.add_metric([status, str(enabled).lower()], n)
        yield gauge
        changes = _status_changes_counter()
        counts = dict.fromkeys(Camera.Status.values, 0)
        counts.update(StatusChange.objects.order_by().values_list("status").annotate(n=Count("id")))
        for status, n in counts.items():
            changes.add_metric([status], n)
        yield changes
        pipelines = _pipelines_gauge()
        counts = {(kind, state): 0 for kind in KINDS for state in PipelineState.State.values}
        rows = PipelineState.objects.order_by().values_list("kind", "state").annotate(n=Count("id"))
        counts.update({(kind, state): n for kind, state, n in rows})
        for (kind, state), n in counts.items():
            pipelines.add_metric([kind, state], n)
        yield pipelines
