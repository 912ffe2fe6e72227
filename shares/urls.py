"""/v2/s/<key>: a share link's page (and the token its script gets), and a clip share's playlist."""

from django.urls import re_path

from .links import KEY_PATTERN
from .views import SharePageView, clip_playlist

app_name = "shares"

KEY = rf"(?P<key>{KEY_PATTERN})"

urlpatterns = [
    re_path(rf"^{KEY}$", SharePageView.as_view(), name="page"),
    re_path(rf"^{KEY}/clip\.m3u8$", clip_playlist, name="clip"),
]
