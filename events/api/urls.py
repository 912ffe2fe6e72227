from django.urls import path
from rest_framework.routers import SimpleRouter

from .batch import EventBatchView
from .counts import LineCountsView
from .playback import EventPlaybackView
from .subscriptions import SubscriptionViewSet
from .views import EventViewSet

app_name = "events"

router = SimpleRouter(trailing_slash=False)
router.register("events", EventViewSet, basename="event")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
urlpatterns = [
    # Before the router's: no router route takes "events:batch" today (a pk follows "events/"), and none ever should.
    path("events:batch", EventBatchView.as_view(), name="event-batch"),
    *router.urls,
    # The playback API's URL for an event, served by this app (it reads events).
    path("playback/event/<str:event_id>", EventPlaybackView.as_view(), name="event-playback"),
    # A camera's line crossings (it reads events), under the cameras API.
    path("cameras/<str:id>/counts", LineCountsView.as_view(), name="camera-counts"),
]
