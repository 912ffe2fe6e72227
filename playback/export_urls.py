"""/v2/exports/<id>/<camera>.mp4: a finished export's file, checked against its tenant (signed URL or token)."""

from django.urls import re_path

from cameras.models import CAMERA_ID

from . import views

app_name = "export-files"

urlpatterns = [
    re_path(rf"^(?P<export_id>[0-9]{{1,12}})/(?P<camera>{CAMERA_ID})\.mp4$", views.export_file, name="file"),
]
