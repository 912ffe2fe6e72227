"""A watch list's colour rule on the real demo stream (RTSP, ffmpeg, YOLO, ByteTrack): the bus's colour, as the
detector names it, fires a `watchlist_match` alert that goes out to webhooks like any other event."""

import pytest

from events.models import Delivery, Event, Subscription
from events.notify.relay import relay_once
from events.notify.webhooks import WebhookSink
from watchlists.entries import clean_entries
from watchlists.matching import WatchlistSink
from watchlists.models import WatchList

from ..detection.conftest import run_detectors
from ..factories import CameraFactory

pytestmark = pytest.mark.django_db(transaction=True)

STREAM_SECONDS = 12  # the clip's first scene: the bus and people


def test_a_colour_rule_fires_on_the_bus(tenant_a, tenant_b, rtsp_url):
    camera = CameraFactory(tenant=tenant_a, slug="cam-street", rtsp_url=rtsp_url, fps=5, features=["person", "vehicle"])
    run_detectors([camera], STREAM_SECONDS)
    vehicles = list(Event.objects.filter(tenant=tenant_a, type="vehicle"))
    [bus] = [e for e in vehicles if e.payload["label"] == "bus"] or [None]
    assert bus is not None, [e.payload["label"] for e in vehicles]
    colour = bus.payload["attributes"]["color"][0]  # what the detector saw, whatever it is
    matching = {e.id for e in vehicles if colour in e.payload["attributes"]["color"]}
    absent = next(c for c in ("pink", "purple", "orange", "green") if not any(
        c in e.payload["attributes"]["color"] for e in vehicles))  # fmt: skip
    hot = WatchList.objects.create(tenant=tenant_a, name="buses", entries=clean_entries([
        {"label": "vehicle", "color": colour, "camera_id": "cam-street"},
        {"label": "vehicle", "color": absent},
    ]))  # fmt: skip
    WatchList.objects.create(tenant=tenant_b, name="theirs", entries=clean_entries([{"label": "vehicle"}]))
    subscription = Subscription.objects.create(tenant=tenant_a, url="https://hooks.example.com/vms",
                                               types=["watchlist_match"])  # fmt: skip

    relay_once(WatchlistSink())

    found = list(Event.objects.filter(type="watchlist_match"))
    assert {alert.payload["event_id"] for alert in found} == matching
    assert bus.id in matching
    assert {alert.tenant_id for alert in found} == {"tenant-a"}
    assert {alert.payload["entry"]["id"] for alert in found} == {hot.entries[0]["id"]}
    relay_once(WebhookSink())
    assert set(Delivery.objects.filter(subscription=subscription).values_list("event_id", flat=True)) == {
        alert.id for alert in found
    }
