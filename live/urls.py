from django.urls import re_path

from cameras.models import CAMERA_ID

from . import views

app_name = "live"

urlpatterns = [
    re_path(rf"^cameras/(?P<camera>{CAMERA_ID})/webrtc$", views.camera_webrtc, name="webrtc"),
]
