"""Prometheus gauges read from the database at scrape time, so every process reports the same truth."""

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .models import Camera, StatusChange


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
