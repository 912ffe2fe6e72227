from django.urls import path

from .views import EventPlaybackView, TimelineView

app_name = "playback"

urlpatterns = [
    path("timeline", TimelineView.as_view(), name="timeline"),
    path("event/<str:event_id>", EventPlaybackView.as_view(), name="event"),
]
