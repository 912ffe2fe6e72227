from django.urls import path

from .views import TimelineView

app_name = "playback"

urlpatterns = [
    path("timeline", TimelineView.as_view(), name="timeline"),
]
